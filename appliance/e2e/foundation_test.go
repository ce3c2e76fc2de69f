//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// caPool returns a pool holding only the CA in the PEM file.
func caPool(t testing.TB, caFile string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	return pool
}

// caFingerprint is the hex SHA-256 of the DER of the CA certificate in a PEM file.
func caFingerprint(t testing.TB, caFile string) string {
	t.Helper()
	cert := readCert(t, caFile)
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

func readCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("%s: no PEM certificate", name)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cert
}

// kesIdentity is the KES identity of a certificate: hex SHA-256 of its SubjectPublicKeyInfo.
func kesIdentity(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// httpsClient trusts only the CA in pool and presents the client certificate in certFile and
// keyFile when they are given.
func httpsClient(t testing.TB, pool *x509.CertPool, certFile, keyFile string) *http.Client {
	t.Helper()
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 30 * time.Second}
}

// doStatus sends a request and returns the status code and body.
func doStatus(t testing.TB, c *http.Client, method, url string, header http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// healthArgs are the arguments of `kmsbox health` against srv.
func healthArgs(srv *proc) []string {
	return []string{"health", "--data-dir", srv.dataDir,
		"--vault-addr", srv.addr("vault"), "--kes-addr", srv.addr("kes"), "--s3-addr", srv.addr("s3")}
}

func TestHealthCommand(t *testing.T) {
	bin := kmsboxBin(t)
	srv := startServer(t, t.TempDir())
	c := cmd{env: baseEnv(t.TempDir())}

	if out := c.ok(t, bin, healthArgs(srv)...); out != "ok\n" {
		t.Errorf("kmsbox health printed %q, want \"ok\\n\"", out)
	}
	// The Docker HEALTHCHECK passes no flags: the KMSBOX_* variables of the image apply.
	envOnly := cmd{env: append(baseEnv(t.TempDir()), "KMSBOX_DATA_DIR="+srv.dataDir,
		"KMSBOX_VAULT_ADDR="+srv.addr("vault"), "KMSBOX_KES_ADDR="+srv.addr("kes"), "KMSBOX_S3_ADDR="+srv.addr("s3"))}
	envOnly.ok(t, bin, "health")
	// An empty address is not checked, so a single server can be probed.
	c.ok(t, bin, "health", "--data-dir", srv.dataDir, "--vault-addr", "", "--kes-addr", "", "--s3-addr", srv.addr("s3"))

	srv.mustStop(t)
	r := c.fails(t, bin, append(healthArgs(srv), "--timeout", "3s")...)
	if r.code != 1 {
		t.Errorf("kmsbox health against a stopped server: exit code %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, "s3") || !strings.Contains(r.stderr, "vault") {
		t.Errorf("kmsbox health against a stopped server says %q; want every failing server named", r.stderr)
	}
}

func TestEnvFile(t *testing.T) {
	bin := kmsboxBin(t)
	srv := startServer(t, t.TempDir())
	name := filepath.Join(srv.dataDir, "kmsbox.env")

	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600", fi.Mode().Perm())
	}
	for _, v := range envVars {
		if srv.env[v] == "" {
			t.Errorf("env file lacks %s", v)
		}
	}
	ca, _ := filepath.Abs(srv.caFile())
	for name, want := range map[string]string{
		"VAULT_ADDR":             srv.urls["vault"],
		"KES_SERVER":             srv.urls["kes"],
		"AWS_ENDPOINT_URL":       srv.urls["s3"],
		"MINIO_KMS_KES_ENDPOINT": srv.urls["kes"],
		"VAULT_CACERT":           ca,
		"AWS_CA_BUNDLE":          ca,
		"MINIO_KMS_KES_CAPATH":   ca,
		"AWS_REGION":             "us-east-1",
		"MINIO_KMS_KES_KEY_NAME": "minio-key-1",
	} {
		if srv.env[name] != want {
			t.Errorf("env file: %s=%q, want %q", name, srv.env[name], want)
		}
	}
	for _, v := range []string{"KES_CLIENT_KEY", "MINIO_KMS_KES_KEY_FILE"} {
		if fi, err := os.Stat(srv.env[v]); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s=%s: %v, mode %v; want a 0600 file", v, srv.env[v], err, fi.Mode())
		}
	}

	// `kmsbox env` prints the file, and a shell's eval gets the values back unchanged.
	c := cmd{env: baseEnv(t.TempDir())}
	file, _ := os.ReadFile(name)
	if out := c.ok(t, bin, "env", "--data-dir", srv.dataDir); out != string(file) {
		t.Errorf("kmsbox env printed:\n%s\nwant the env file:\n%s", out, file)
	}
	script := fmt.Sprintf(`eval "$(%s env --data-dir %s)" && printf '%%s\n' "$VAULT_TOKEN" "$AWS_SECRET_ACCESS_KEY" "$KES_CLIENT_CERT"`, bin, srv.dataDir)
	want := srv.env["VAULT_TOKEN"] + "\n" + srv.env["AWS_SECRET_ACCESS_KEY"] + "\n" + srv.env["KES_CLIENT_CERT"] + "\n"
	if out := c.ok(t, "sh", "-c", script); out != want {
		t.Errorf("eval of kmsbox env gave %q, want %q", out, want)
	}
	caPEM, _ := os.ReadFile(srv.caFile())
	if out := c.ok(t, bin, "cert", "ca", "--data-dir", srv.dataDir); out != string(caPEM) {
		t.Errorf("kmsbox cert ca does not print %s", srv.caFile())
	}

	// Every credential in the file works against its server, trusting only the CA.
	pool := caPool(t, srv.env["VAULT_CACERT"])
	vault := httpsClient(t, pool, "", "")
	if code, body := doStatus(t, vault, "GET", srv.env["VAULT_ADDR"]+"/v1/sys/health", nil, nil); code != 200 {
		t.Errorf("vault health: %d %s", code, body)
	}
	if code, body := doStatus(t, vault, "GET", srv.env["VAULT_ADDR"]+"/v1/auth/token/lookup-self",
		http.Header{"X-Vault-Token": {srv.env["VAULT_TOKEN"]}}, nil); code != 200 {
		t.Errorf("vault lookup-self with VAULT_TOKEN: %d %s", code, body)
	}
	if code, _ := doStatus(t, vault, "GET", srv.env["VAULT_ADDR"]+"/v1/auth/token/lookup-self",
		http.Header{"X-Vault-Token": {"hvs.not-a-token"}}, nil); code != 403 {
		t.Errorf("vault lookup-self with a bad token: %d, want 403", code)
	}

	admin := httpsClient(t, pool, srv.env["KES_CLIENT_CERT"], srv.env["KES_CLIENT_KEY"])
	if code, body := doStatus(t, admin, "GET", srv.env["KES_SERVER"]+"/v1/status", nil, nil); code != 200 {
		t.Errorf("KES /v1/status with KES_CLIENT_CERT: %d %s", code, body)
	}
	minioID := httpsClient(t, pool, srv.env["MINIO_KMS_KES_CERT_FILE"], srv.env["MINIO_KMS_KES_KEY_FILE"])
	if code, body := doStatus(t, minioID, "POST", srv.env["MINIO_KMS_KES_ENDPOINT"]+"/v1/key/generate/"+srv.env["MINIO_KMS_KES_KEY_NAME"], nil, []byte(`{}`)); code != 200 || !strings.Contains(body, `"ciphertext"`) {
		t.Errorf("KES generate with the MinIO identity: %d %s", code, body)
	}
	if code, _ := doStatus(t, minioID, "POST", srv.env["MINIO_KMS_KES_ENDPOINT"]+"/v1/key/create/not-minio", nil, nil); code != 403 {
		t.Errorf("KES create outside minio-* with the MinIO identity: %d, want 403", code)
	}
	if out := c.ok(t, bin, "identity", "of", srv.env["KES_CLIENT_CERT"]); strings.TrimSpace(out) != kesIdentity(readCert(t, srv.env["KES_CLIENT_CERT"])) {
		t.Errorf("identity of the admin certificate = %q", out)
	}
}

// s3Client is a minio-go client trusting only the CA in pool.
func s3Client(t testing.TB, srv *proc, pool *x509.CertPool) *minio.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	c, err := minio.New(srv.addr("s3"), &minio.Options{
		Creds:     credentials.NewStaticV4(srv.env["AWS_ACCESS_KEY_ID"], srv.env["AWS_SECRET_ACCESS_KEY"], ""),
		Secure:    true,
		Transport: tr,
		Region:    srv.env["AWS_REGION"],
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	fp := caFingerprint(t, srv.caFile())
	pool := caPool(t, srv.caFile()) // the second run must be trusted through the first run's CA
	first := srv.env

	ctx := context.Background()
	s3 := s3Client(t, srv, pool)
	if err := s3.MakeBucket(ctx, "persist", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	ssecKey := make([]byte, 32)
	rand.Read(ssecKey)
	ssec, err := encrypt.NewSSEC(ssecKey)
	if err != nil {
		t.Fatal(err)
	}
	kms, err := encrypt.NewSSEKMS("minio-key-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	objects := []struct {
		key  string
		size int
		sse  encrypt.ServerSide
		want string // x-amz-server-side-encryption, "" for SSE-C
	}{
		{"auto.bin", 100_000, nil, "AES256"},
		{"sse-s3-multipart.bin", 11 << 20, encrypt.NewSSE(), "AES256"},
		{"sse-kms.bin", 70_000, kms, "aws:kms"},
		{"sse-c.bin", 65_537, ssec, ""},
	}
	data := map[string][]byte{}
	for _, o := range objects {
		b := make([]byte, o.size)
		rand.Read(b)
		data[o.key] = b
		_, err := s3.PutObject(ctx, "persist", o.key, bytes.NewReader(b), int64(len(b)),
			minio.PutObjectOptions{ServerSideEncryption: o.sse, PartSize: 5 << 20})
		if err != nil {
			t.Fatalf("put %s: %v", o.key, err)
		}
	}
	needles := map[string][]byte{"the SSE-C key": ssecKey}
	for _, o := range objects {
		b := data[o.key]
		needles[o.key+" (head)"] = b[:64]
		needles[o.key+" (middle)"] = b[len(b)/2 : len(b)/2+64]
	}
	noPlaintextAtRest(t, dir, needles)
	srv.mustStop(t)

	srv2 := startServer(t, dir)
	if got := caFingerprint(t, srv2.caFile()); got != fp {
		t.Errorf("CA fingerprint changed across restarts: %s -> %s", fp, got)
	}
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "VAULT_TOKEN", "VAULT_CACERT"} {
		if srv2.env[v] != first[v] {
			t.Errorf("%s changed across restarts: %q -> %q", v, first[v], srv2.env[v])
		}
	}
	s3 = s3Client(t, srv2, pool)
	for _, o := range objects {
		opts := minio.GetObjectOptions{}
		if o.want == "" {
			opts.ServerSideEncryption = ssec
		}
		obj, err := s3.GetObject(ctx, "persist", o.key, opts)
		if err != nil {
			t.Fatalf("get %s after restart: %v", o.key, err)
		}
		got, err := io.ReadAll(obj)
		if err != nil {
			t.Fatalf("read %s after restart: %v", o.key, err)
		}
		if !bytes.Equal(got, data[o.key]) {
			t.Errorf("%s after restart: %d bytes differ from the %d uploaded", o.key, len(got), len(data[o.key]))
		}
		st, err := obj.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if sse := st.Metadata.Get("X-Amz-Server-Side-Encryption"); sse != o.want {
			t.Errorf("%s after restart: x-amz-server-side-encryption %q, want %q", o.key, sse, o.want)
		}
	}
	// The vault came back unsealed with the same root token.
	vault := httpsClient(t, pool, "", "")
	if code, body := doStatus(t, vault, "GET", srv2.env["VAULT_ADDR"]+"/v1/auth/token/lookup-self",
		http.Header{"X-Vault-Token": {first["VAULT_TOKEN"]}}, nil); code != 200 {
		t.Errorf("root token of the first run after restart: %d %s", code, body)
	}
}

func TestPortConflict(t *testing.T) {
	for _, flag := range []string{"--vault-addr", "--kes-addr", "--s3-addr", "--console-addr"} {
		t.Run(strings.TrimPrefix(flag, "--"), func(t *testing.T) {
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer taken.Close()
			addrs := map[string]string{"--vault-addr": "127.0.0.1:0", "--kes-addr": "127.0.0.1:0", "--s3-addr": "127.0.0.1:0", "--console-addr": "127.0.0.1:0"}
			addrs[flag] = taken.Addr().String()
			p := spawn(t, []string{"server", "--dev", "--data-dir", t.TempDir(),
				"--vault-addr", addrs["--vault-addr"], "--kes-addr", addrs["--kes-addr"], "--s3-addr", addrs["--s3-addr"],
				"--console-addr", addrs["--console-addr"]})
			if code := p.wait(t, readyTimeout); code != 1 {
				t.Fatalf("exit code %d with %s on a taken port, want 1\nstderr:\n%s", code, flag, p.stderr)
			}
			var errLines, logLines []string
			for _, l := range p.stderr.snapshot() {
				if parseLogfmt(l) != nil {
					logLines = append(logLines, l)
				} else if strings.TrimSpace(l) != "" {
					errLines = append(errLines, l)
				}
			}
			if len(errLines) != 1 {
				t.Fatalf("want exactly one error line on stderr, got %d:\n%s", len(errLines), p.stderr)
			}
			for _, want := range []string{flag, taken.Addr().String(), "already in use"} {
				if !strings.Contains(errLines[0], want) {
					t.Errorf("error line %q does not say %q", errLines[0], want)
				}
			}
			for _, l := range logLines {
				if f := parseLogfmt(l); f["msg"] == "ready" || f["msg"] == "listening" {
					t.Errorf("a failed start logged %q", l)
				}
			}
			if len(logLines) > 0 {
				t.Logf("log lines before the error (not counted):\n%s", strings.Join(logLines, "\n"))
			}
			if p.stdout.String() != "" {
				t.Errorf("a failed start printed to stdout:\n%s", p.stdout)
			}
		})
	}
}

// signedRequest signs req for S3 with SigV4 (aws-sdk-go-v2's signer) and the given payload hash.
func signedRequest(t testing.TB, srv *proc, req *http.Request, payloadHash string) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: srv.env["AWS_ACCESS_KEY_ID"], SecretAccessKey: srv.env["AWS_SECRET_ACCESS_KEY"]}
	if err := v4.NewSigner().SignHTTP(req.Context(), creds, req, payloadHash, "s3", srv.env["AWS_REGION"], time.Now()); err != nil {
		t.Fatal(err)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestSIGTERMDrainsSlowUpload(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	pool := caPool(t, srv.caFile())
	client := httpsClient(t, pool, "", "")
	base := srv.urls["s3"]

	req, _ := http.NewRequest("PUT", base+"/drain", nil)
	signedRequest(t, srv, req, sha256Hex(nil))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("create bucket: %s", resp.Status)
	}

	// The slow PUT: its own connection, sent with Expect: 100-continue as botocore does. The
	// server answers 100 Continue only when the handler reads the body, so Got100Continue is the
	// server's own word that the request is in flight (Go's http.Server drops a connection
	// whose request headers it reads only after Shutdown began).
	data := make([]byte, 3<<20)
	rand.Read(data)
	pr, pw := io.Pipe()
	inHandler := make(chan struct{})
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got100Continue: func() { close(inHandler) },
	})
	slow, _ := http.NewRequestWithContext(ctx, "PUT", base+"/drain/slow.bin", pr)
	slow.ContentLength = int64(len(data))
	signedRequest(t, srv, slow, "UNSIGNED-PAYLOAD")
	slow.Header.Set("Expect", "100-continue")
	slowClient := httpsClient(t, pool, "", "")
	slowClient.Transport.(*http.Transport).ExpectContinueTimeout = time.Minute
	type answer struct {
		resp *http.Response
		body string
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := slowClient.Do(slow)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- answer{resp: resp, body: string(b)}
	}()
	select {
	case <-inHandler:
	case a := <-answered:
		t.Fatalf("the slow PUT was answered before its body was sent: %+v (err %v)", a, a.err)
	case <-time.After(readyTimeout):
		t.Fatal("no 100 Continue for the slow PUT")
	}
	if _, err := pw.Write(data[:64<<10]); err != nil {
		t.Fatal(err)
	}

	sent := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Observe the server's side: the S3 listener closes once the shutdown has begun, while our
	// request is still in flight.
	for {
		conn, err := net.DialTimeout("tcp", srv.addr("s3"), time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Since(sent) > stopTimeout {
			t.Fatal("the S3 listener still accepts connections 5 s after SIGTERM")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case a := <-answered:
		t.Fatalf("the in-flight PUT was answered before its body was complete: %+v", a)
	default:
	}
	for off := 64 << 10; off < len(data); off += 256 << 10 {
		if _, err := pw.Write(data[off:min(off+256<<10, len(data))]); err != nil {
			a := <-answered
			t.Fatalf("writing the rest of the body during shutdown: %v; the PUT got %+v (err %v)", err, a, a.err)
		}
	}
	pw.Close()
	a := <-answered
	if a.err != nil {
		t.Fatalf("in-flight PUT during shutdown: %v", a.err)
	}
	if a.resp.StatusCode != 200 {
		t.Fatalf("in-flight PUT during shutdown: %s %s", a.resp.Status, a.body)
	}
	sum := md5.Sum(data)
	if etag := a.resp.Header.Get("ETag"); etag != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Errorf("in-flight PUT: ETag %s, want the MD5", etag)
	}
	code := srv.wait(t, 3*stopTimeout)
	if took := srv.exitAt.Sub(sent); took > stopTimeout {
		t.Errorf("stop took %v after SIGTERM, want < %v", took, stopTimeout)
	}
	if code != 0 {
		t.Errorf("exit code %d after a graceful stop, want 0", code)
	}

	// The drained upload was committed: a new run serves it.
	srv2 := startServer(t, dir)
	obj, err := s3Client(t, srv2, pool).GetObject(context.Background(), "drain", "slow.bin", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("get the drained upload after restart: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("the drained upload reads back %d bytes that differ from the %d sent", len(got), len(data))
	}
}

func TestIdentityNewOf(t *testing.T) {
	bin := kmsboxBin(t)
	dir := t.TempDir()
	c := cmd{dir: dir, env: baseEnv(t.TempDir())}
	key, crt := filepath.Join(dir, "client.key"), filepath.Join(dir, "client.crt")

	// The issue's (and KES's) word order puts NAME first: `identity new NAME --key F --cert F
	// --time D`; flags-first must work too.
	t.Run("name-first", func(t *testing.T) {
		d := t.TempDir()
		k, cr := filepath.Join(d, "n.key"), filepath.Join(d, "n.crt")
		id := strings.TrimSpace(c.ok(t, bin, "identity", "new", "e2e-client", "--key", k, "--cert", cr, "--time", "1h"))
		if of := strings.TrimSpace(c.ok(t, bin, "identity", "of", cr)); of != id || len(id) != 64 {
			t.Errorf("identity of = %s, identity new = %s", of, id)
		}
	})

	before := time.Now()
	id := strings.TrimSpace(c.ok(t, bin, "identity", "new", "--key", key, "--cert", crt, "--time", "1h", "e2e-client"))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("identity new printed %q, want 64 hex digits", id)
	}
	if of := strings.TrimSpace(c.ok(t, bin, "identity", "of", crt)); of != id {
		t.Errorf("identity of = %s, identity new = %s", of, id)
	}
	cert := readCert(t, crt)
	if got := kesIdentity(cert); got != id {
		t.Errorf("SHA-256 of the certificate's public key = %s, identity = %s", got, id)
	}
	if cert.Subject.CommonName != "e2e-client" {
		t.Errorf("certificate subject %q, want CN=e2e-client", cert.Subject)
	}
	if d := cert.NotAfter.Sub(before); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("certificate expires %v from now, want 1h (--time 1h)", d.Round(time.Second))
	}
	if _, err := tls.LoadX509KeyPair(crt, key); err != nil {
		t.Errorf("key and certificate do not match: %v", err)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key %v mode %v, want 0600", err, fi.Mode())
	}
	r := c.fails(t, bin, "identity", "new", "--key", key, "--cert", crt, "e2e-client")
	if !strings.Contains(r.stderr, "--force") {
		t.Errorf("identity new over existing files says %q, want a hint at --force", r.stderr)
	}
	if of := strings.TrimSpace(c.ok(t, bin, "identity", "of", crt)); of != id {
		t.Errorf("a refused identity new changed the certificate")
	}
}
