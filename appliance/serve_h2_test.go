package appliance

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/internal/netcork"
	"github.com/minio/minio-go/v7"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// selfSignedTLS is a server TLS configuration with a fresh self-signed certificate for
// 127.0.0.1, offering h2 and http/1.1 as the appliance's listeners do.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// TestHTTP2UnfinishedHeadersTimeout sends an HTTP/2 HEADERS frame without END_HEADERS and
// never the CONTINUATION: the server must close the connection within the header timeout,
// as ReadHeaderTimeout does for HTTP/1.1, instead of holding it until IdleTimeout.
func TestHTTP2UnfinishedHeadersTimeout(t *testing.T) {
	const headerTimeout = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServerTimeout(http.NotFoundHandler(), selfSignedTLS(t), slog.New(slog.DiscardHandler), headerTimeout)
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ServeTLS: %v", err)
		}
	})

	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "127.0.0.1"}, {":path", "/"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true}); err != nil {
		t.Fatal(err)
	}

	// Read (and never answer) what the server sends until it closes the connection.
	start := time.Now()
	limit := 20 * headerTimeout // far below the 2 minutes of IdleTimeout
	conn.SetReadDeadline(start.Add(limit))
	for {
		_, err = fr.ReadFrame()
		if err != nil {
			break
		}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection with unfinished HTTP/2 headers still open after %v", limit)
	}
	if held := time.Since(start); held < headerTimeout/2 {
		t.Errorf("connection closed after %v (%v), before the header timeout could pass", held, err)
	}
}

func TestHTTP2ConfigFollowsHeaderTimeout(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(http.NotFoundHandler(), &tls.Config{}, slog.New(slog.DiscardHandler))
	if srv.ReadHeaderTimeout != readHeaderTimeout || srv.HTTP2 == nil ||
		srv.HTTP2.SendPingTimeout+srv.HTTP2.PingTimeout != readHeaderTimeout {
		t.Fatalf("ReadHeaderTimeout %v, HTTP2 %+v: want both bounded by %v", srv.ReadHeaderTimeout, srv.HTTP2, readHeaderTimeout)
	}
}

// TestS3BodiesCorked: the S3 listener is netcork's and the server puts each connection in
// its requests' contexts, so that s3lite can gather a body's TLS records into fewer writes;
// a body of several records arrives intact through it. (s3lite's TestGetBodyCorked counts
// the writes.)
func TestS3BodiesCorked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	for _, s := range a.services {
		_, corkable := s.ln.(*netcork.Listener)
		if corkable != (s.name == "s3") || s.srv.ConnContext == nil {
			t.Errorf("%s: netcork listener %v, ConnContext set %v", s.name, corkable, s.srv.ConnContext != nil)
		}
	}
	env := mustRead(t, EnvFile(dir))
	mc := minioClient(t, a, envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY"))
	ctx := context.Background()
	if err := mc.MakeBucket(ctx, "cork", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 1<<20+5)
	rand.Read(body)
	if _, err := mc.PutObject(ctx, "cork", "o", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	o, err := mc.GetObject(ctx, "cork", "o", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o)
	o.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GET: %d bytes, %v", len(got), err)
	}
}
