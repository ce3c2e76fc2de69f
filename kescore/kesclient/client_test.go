package kesclient_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/kescore/kesclient"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func newClient(t testing.TB, cert tls.Certificate, f *fakeKES, endpoints ...string) *kesclient.Client {
	t.Helper()
	if len(endpoints) == 0 {
		endpoints = []string{f.srv.URL}
	}
	c, err := kesclient.New(kesclient.Config{
		Endpoints:     endpoints,
		TLS:           &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: f.rootCAs(), MinVersion: tls.VersionTLS12},
		MinRetryDelay: time.Millisecond,
		MaxRetryDelay: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKeyLifecycle(t *testing.T) {
	ctx := t.Context()
	admin := newIdentity(t, "admin")
	f := newFakeKES(t, admin)
	c := newClient(t, admin, f)

	if err := c.CreateKey(ctx, "my-key"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateKey(ctx, "my-key"); !errors.Is(err, kesclient.ErrKeyExists) {
		t.Fatalf("duplicate create: %v, want ErrKeyExists", err)
	}
	info, err := c.DescribeKey(ctx, "my-key")
	if err != nil || info.Name != "my-key" || info.Algorithm != "AES256" || info.CreatedAt.IsZero() {
		t.Fatalf("describe: %+v %v", info, err)
	}
	if _, err := c.DescribeKey(ctx, "nope"); !errors.Is(err, kesclient.ErrKeyNotFound) {
		t.Fatalf("describe missing: %v", err)
	}

	plain, ciphertext, err := c.GenerateKey(ctx, "my-key", []byte("bucket/object"))
	if err != nil || len(plain) != 32 || len(ciphertext) == 0 {
		t.Fatalf("generate: %d %d %v", len(plain), len(ciphertext), err)
	}
	got, err := c.Decrypt(ctx, "my-key", ciphertext, []byte("bucket/object"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("decrypt: %v", err)
	}
	if _, err := c.Decrypt(ctx, "my-key", ciphertext, []byte("other")); !errors.Is(err, kesclient.ErrDecrypt) {
		t.Fatalf("wrong context: %v", err)
	}
	ciphertext[0] ^= 1
	if _, err := c.Decrypt(ctx, "my-key", ciphertext, []byte("bucket/object")); !errors.Is(err, kesclient.ErrDecrypt) {
		t.Fatalf("tampered: %v", err)
	}
	ct, err := c.Encrypt(ctx, "my-key", []byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.Decrypt(ctx, "my-key", ct, nil); err != nil || string(p) != "hello" {
		t.Fatalf("encrypt/decrypt: %q %v", p, err)
	}
	mac1, err := c.HMAC(ctx, "my-key", []byte("msg"))
	if err != nil || len(mac1) != 32 {
		t.Fatalf("hmac: %v", err)
	}
	if mac2, _ := c.HMAC(ctx, "my-key", []byte("msg")); !bytes.Equal(mac1, mac2) {
		t.Fatal("hmac not deterministic")
	}

	key := bytes.Repeat([]byte{7}, 32)
	if err := c.ImportKey(ctx, "imported", key, kesclient.AES256); err != nil {
		t.Fatal(err)
	}
	var kerr *kesclient.Error
	if err := c.ImportKey(ctx, "bad", key[:16], kesclient.AES256); !errors.As(err, &kerr) || kerr.Status != http.StatusNotAcceptable {
		t.Fatalf("import short key: %v", err)
	}
	if err := c.ImportKey(ctx, "imported", key, kesclient.AES256); !errors.Is(err, kesclient.ErrKeyExists) {
		t.Fatalf("import existing: %v", err)
	}

	names, err := c.ListKeys(ctx, "")
	if err != nil || strings.Join(names, ",") != "imported,my-key" {
		t.Fatalf("list all: %v %v", names, err)
	}
	names, err = c.ListKeys(ctx, "my-")
	if err != nil || strings.Join(names, ",") != "my-key" {
		t.Fatalf("list prefix: %v %v", names, err)
	}
	if err := c.DeleteKey(ctx, "my-key"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.GenerateKey(ctx, "my-key", nil); !errors.Is(err, kesclient.ErrKeyNotFound) {
		t.Fatalf("generate after delete: %v", err)
	}
}

func TestServerInfo(t *testing.T) {
	ctx := t.Context()
	admin, minio := newIdentity(t, "admin"), newIdentity(t, "MinIO")
	f := newFakeKES(t, admin)
	f.allow(identityOf(minio.Leaf), "/v1/key/create/minio-", "/v1/key/generate/minio-")
	c := newClient(t, admin, f)

	v, err := c.Version(ctx)
	if err != nil || v.Version != "fake-1" || v.Commit != "abc" {
		t.Fatalf("version: %+v %v", v, err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Uptime != 42*time.Second || st.KeyStoreLatency != 3*time.Millisecond || st.NumCPU != 2 || st.KeyStoreUnavailable {
		t.Fatalf("status: %+v %v", st, err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	self, err := c.DescribeSelf(ctx)
	if err != nil || !self.IsAdmin || self.Identity != identityOf(admin.Leaf) {
		t.Fatalf("self: %+v %v", self, err)
	}

	m := newClient(t, minio, f)
	self, err = m.DescribeSelf(ctx)
	if err != nil || self.IsAdmin || self.Policy != "minio" || strings.Join(self.Allow, " ") != "/v1/key/create/minio-* /v1/key/generate/minio-*" {
		t.Fatalf("minio self: %+v %v", self, err)
	}
	if err := m.CreateKey(ctx, "minio-key-1"); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateKey(ctx, "my-key-1"); !errors.Is(err, kesclient.ErrNotAllowed) {
		t.Fatalf("create outside policy: %v", err)
	}
	if err := m.Ready(ctx); !errors.Is(err, kesclient.ErrNotAllowed) {
		t.Fatalf("ready without permission: %v", err)
	}
}

// TestWireGolden pins the requests the client sends: methods, paths and
// JSON bodies. Run with -update to regenerate testdata/requests.golden.
func TestWireGolden(t *testing.T) {
	ctx := t.Context()
	admin := newIdentity(t, "admin")
	f := newFakeKES(t, admin)
	c := newClient(t, admin, f)

	_, _ = c.Version(ctx)
	_, _ = c.Status(ctx)
	_ = c.Ready(ctx)
	_ = c.CreateKey(ctx, "key-1")
	_ = c.ImportKey(ctx, "key-2", bytes.Repeat([]byte{1}, 32), kesclient.ChaCha20)
	_, _ = c.DescribeKey(ctx, "key-1")
	_, _ = c.ListKeys(ctx, "")
	_, _ = c.ListKeys(ctx, "key-*")
	_, _, _ = c.GenerateKey(ctx, "key-1", nil)
	_, _, _ = c.GenerateKey(ctx, "key-1", []byte("ctx"))
	_, _ = c.Encrypt(ctx, "key-1", []byte("plain"), []byte("ctx"))
	_, _ = c.Decrypt(ctx, "key-1", []byte("not a ciphertext"), nil)
	_, _ = c.HMAC(ctx, "key-1", []byte("message"))
	_ = c.DeleteKey(ctx, "key-2")
	_, _ = c.DescribeSelf(ctx)
	_ = c.CreateKey(ctx, "a b/c") // escaping

	var buf bytes.Buffer
	for _, r := range f.recorded() {
		b, _ := json.Marshal(r)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	golden := filepath.Join("testdata", "requests.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("requests differ from %s:\n got:\n%s\nwant:\n%s", golden, buf.Bytes(), want)
	}
}

func TestListPaging(t *testing.T) {
	ctx := t.Context()
	admin := newIdentity(t, "admin")
	f := newFakeKES(t, admin)
	c := newClient(t, admin, f)
	var want []string
	for i := range 10 {
		n := fmt.Sprintf("k-%02d", i)
		want = append(want, n)
		if err := c.CreateKey(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CreateKey(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.pageSize = 1
	f.mu.Unlock()
	// With a page size of one the continue_at name is used as the next
	// pattern; every name must arrive exactly once, names outside the
	// prefix ("other") are dropped.
	got, err := c.ListKeys(ctx, "k-")
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("paged list: %v %v", got, err)
	}

	// A server whose continuation never advances must not loop forever.
	var n atomic.Int32
	f.inject = func(w http.ResponseWriter, r *http.Request) bool {
		n.Add(1)
		_, _ = w.Write([]byte(`{"names":["k-00"],"continue_at":"k-01"}`))
		return true
	}
	got, err = c.ListKeys(ctx, "k-")
	if err != nil || strings.Join(got, ",") != "k-00" || n.Load() != 2 {
		t.Fatalf("stuck continuation: %v %v after %d requests", got, err, n.Load())
	}
}

func TestLegacyListing(t *testing.T) {
	admin := newIdentity(t, "admin")
	f := newFakeKES(t, admin)
	f.inject = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/x-ndjson")
		if strings.HasSuffix(r.URL.Path, "/bad") {
			fmt.Fprintln(w, `{"name":"x"}`)
			fmt.Fprintln(w, `{"error":"vault: permission denied"}`)
			return true
		}
		fmt.Fprintln(w, `{"name":"b"}`)
		fmt.Fprintln(w, `{"name":"a"}`)
		return true
	}
	c := newClient(t, admin, f)
	got, err := c.ListKeys(t.Context(), "")
	if err != nil || strings.Join(got, ",") != "a,b" {
		t.Fatalf("legacy list: %v %v", got, err)
	}
	if _, err := c.ListKeys(t.Context(), "bad"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("legacy list error: %v", err)
	}
}

// closedEndpoint returns the URL of a port nothing listens on.
func closedEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "https://" + addr
}

func TestFailover(t *testing.T) {
	ctx := t.Context()
	admin := newIdentity(t, "admin")

	t.Run("network error moves on", func(t *testing.T) {
		f := newFakeKES(t, admin)
		c := newClient(t, admin, f, closedEndpoint(t), f.srv.URL)
		if err := c.CreateKey(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("5xx moves on and sticks to the good endpoint", func(t *testing.T) {
		bad, good := newFakeKES(t, admin), newFakeKES(t, admin)
		var badHits atomic.Int32
		bad.inject = func(w http.ResponseWriter, r *http.Request) bool {
			badHits.Add(1)
			jsonError(w, http.StatusBadGateway, "key store is unavailable")
			return true
		}
		pool := bad.rootCAs()
		pool.AddCert(good.srv.Certificate())
		c, err := kesclient.New(kesclient.Config{
			Endpoints: []string{bad.srv.URL, good.srv.URL},
			TLS:       &tls.Config{Certificates: []tls.Certificate{admin}, RootCAs: pool},
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := c.CreateKey(ctx, fmt.Sprint("k", i)); err != nil {
				t.Fatal(err)
			}
		}
		if n := badHits.Load(); n != 1 {
			t.Fatalf("failing endpoint got %d requests, want 1", n)
		}
	})

	t.Run("503 is retried until success", func(t *testing.T) {
		f := newFakeKES(t, admin)
		var n atomic.Int32
		f.inject = func(w http.ResponseWriter, r *http.Request) bool {
			if n.Add(1) <= 2 {
				jsonError(w, http.StatusServiceUnavailable, "busy")
				return true
			}
			return false
		}
		c := newClient(t, admin, f)
		if err := c.CreateKey(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if n.Load() != 3 {
			t.Fatalf("%d attempts, want 3", n.Load())
		}
	})

	t.Run("retries are bounded", func(t *testing.T) {
		f := newFakeKES(t, admin)
		var n atomic.Int32
		f.inject = func(w http.ResponseWriter, r *http.Request) bool {
			n.Add(1)
			jsonError(w, http.StatusServiceUnavailable, "busy")
			return true
		}
		c := newClient(t, admin, f)
		var kerr *kesclient.Error
		if err := c.CreateKey(ctx, "k"); !errors.As(err, &kerr) || kerr.Status != 503 || kerr.Message != "busy" {
			t.Fatalf("err = %v", err)
		}
		if n.Load() != 3 { // default: 2 retries
			t.Fatalf("%d attempts, want 3", n.Load())
		}
	})

	t.Run("504 is not retried", func(t *testing.T) {
		f := newFakeKES(t, admin)
		var n atomic.Int32
		f.inject = func(w http.ResponseWriter, r *http.Request) bool {
			n.Add(1)
			jsonError(w, http.StatusGatewayTimeout, "key store is not reachable")
			return true
		}
		c := newClient(t, admin, f)
		if err := c.Ready(ctx); err == nil || err.Error() != "key store is not reachable" || n.Load() != 1 {
			t.Fatalf("err = %v after %d attempts", err, n.Load())
		}
	})

	t.Run("oversized answer is an error, not a failover", func(t *testing.T) {
		f := newFakeKES(t, admin)
		var n atomic.Int32
		f.inject = func(w http.ResponseWriter, r *http.Request) bool {
			n.Add(1)
			_, _ = w.Write(bytes.Repeat([]byte("a"), 32<<20+1))
			return true
		}
		c := newClient(t, admin, f, f.srv.URL, f.srv.URL)
		var cerr *kesclient.ConnError
		if _, err := c.ListKeys(ctx, ""); err == nil || errors.As(err, &cerr) || !strings.Contains(err.Error(), "exceeds") || n.Load() != 1 {
			t.Fatalf("err = %v after %d requests", err, n.Load())
		}
	})

	t.Run("no endpoint reachable", func(t *testing.T) {
		f := newFakeKES(t, admin)
		c := newClient(t, admin, f, closedEndpoint(t), closedEndpoint(t))
		var cerr *kesclient.ConnError
		if err := c.CreateKey(ctx, "k"); !errors.As(err, &cerr) {
			t.Fatalf("err = %v, want ConnError", err)
		}
	})

	t.Run("context ends the retry wait", func(t *testing.T) {
		f := newFakeKES(t, admin)
		cctx, cancel := context.WithCancel(ctx)
		f.inject = func(w http.ResponseWriter, r *http.Request) bool {
			jsonError(w, http.StatusServiceUnavailable, "busy")
			cancel()
			return true
		}
		c, err := kesclient.New(kesclient.Config{
			Endpoints:     []string{f.srv.URL},
			TLS:           &tls.Config{Certificates: []tls.Certificate{admin}, RootCAs: f.rootCAs()},
			MinRetryDelay: time.Hour, MaxRetryDelay: time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CreateKey(cctx, "k"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  kesclient.Config
		ok   bool
	}{
		{"no endpoint", kesclient.Config{}, false},
		{"host only", kesclient.Config{Endpoints: []string{"localhost"}}, true},
		{"http rewritten", kesclient.Config{Endpoints: []string{"http://127.0.0.1:7373"}}, true},
		{"ftp", kesclient.Config{Endpoints: []string{"ftp://x"}}, false},
		{"query", kesclient.Config{Endpoints: []string{"https://x/?a=b"}}, false},
		{"delays", kesclient.Config{Endpoints: []string{"x"}, MinRetryDelay: 2 * time.Second, MaxRetryDelay: time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kesclient.New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v", err)
			}
		})
	}
	if _, err := kesclient.New(kesclient.Config{Endpoints: []string{"https://kes:s3cret-pw@x:7373"}}); err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("endpoint with a password: %v (want an error that hides the password)", err)
	}
	c, err := kesclient.New(kesclient.Config{Endpoints: kesclient.ParseEndpoints(" http://a:1/ ,, b ,")})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Endpoints(), ","); got != "https://a:1,https://b:7373" {
		t.Fatalf("endpoints %s", got)
	}
	if got := kesclient.ParseEndpoints(""); len(got) != 1 || got[0] != kesclient.DefaultEndpoint {
		t.Fatalf("default endpoint %v", got)
	}
}

func BenchmarkGenerateDecrypt(b *testing.B) {
	admin := newIdentity(b, "admin")
	f := newFakeKES(b, admin)
	c := newClient(b, admin, f)
	ctx := context.Background()
	if err := c.CreateKey(ctx, "k"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p, ct, err := c.GenerateKey(ctx, "k", nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decrypt(ctx, "k", ct, nil); err != nil || len(p) != 32 {
			b.Fatal(err)
		}
	}
}
