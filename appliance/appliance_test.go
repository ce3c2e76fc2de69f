package appliance

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/appliance/kesconf"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// startAppliance opens an appliance on loopback ports in dir and serves it until the test
// ends. It returns the appliance and a function that stops it and waits.
func startAppliance(t testing.TB, cfg Config) (*Appliance, func() error) {
	t.Helper()
	if cfg.VaultAddr == "" && cfg.KESAddr == "" && cfg.S3Addr == "" {
		cfg.VaultAddr, cfg.KESAddr, cfg.S3Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	}
	a, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return a, stop
}

// caClient is an HTTPS client that trusts only the appliance's exported CA file.
func caClient(t *testing.T, caFile string, certs ...tls.Certificate) *http.Client {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("no CA certificate in", caFile)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
}

func getStatus(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func caFingerprint(t *testing.T, file string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM in", file)
	}
	return sha256.Sum256(block.Bytes)
}

func TestApplianceHealthOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true})

	admin, err := tls.LoadX509KeyPair(filepath.Join(dir, "certs", "admin.crt"), filepath.Join(dir, "certs", "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	c := caClient(t, a.CAFile(), admin)
	for _, u := range []string{
		a.URL("vault") + "/v1/sys/health",
		a.URL("kes") + "/v1/status",
		a.URL("s3") + "/minio/health/live",
		a.URL("s3") + "/minio/health/ready",
	} {
		if code := getStatus(t, c, u); code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", u, code)
		}
	}

	// TLS 1.2 offers AEAD suites only, on every listener (KES's mTLS one included).
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, a.CAFile()))
	for _, name := range []string{"vault", "kes", "s3"} {
		for suite, ok := range map[uint16]bool{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: false, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: true} {
			conn, err := tls.Dial("tcp", a.Addr(name), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{admin},
				MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
			if err == nil {
				conn.Close()
			}
			if (err == nil) != ok {
				t.Errorf("%s: TLS 1.2 with only %s: err %v, want success %v", name, tls.CipherSuiteName(suite), err, ok)
			}
		}
	}

	// The same check as `kmsbox health`, over the bound addresses.
	if err := Health(context.Background(), HealthConfig{DataDir: dir, VaultAddr: a.Addr("vault"), KESAddr: a.Addr("kes"), S3Addr: a.Addr("s3")}); err != nil {
		t.Fatalf("Health: %v", err)
	}
}

func TestApplianceRestartKeepsCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, stop := startAppliance(t, Config{DataDir: dir, Dev: true})
	first := caFingerprint(t, a.CAFile())
	envBefore, err := os.ReadFile(EnvFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	b, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	if caFingerprint(t, b.CAFile()) != first {
		t.Fatal("the CA changed across a restart")
	}
	c := caClient(t, b.CAFile())
	if code := getStatus(t, c, b.URL("vault")+"/v1/sys/health"); code != http.StatusOK {
		t.Fatalf("vault health after restart = %d, want 200 (dev unseals itself)", code)
	}
	envAfter, _ := os.ReadFile(EnvFile(dir))
	for _, name := range []string{"VAULT_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if envValue(envBefore, name) == "" || envValue(envBefore, name) != envValue(envAfter, name) {
			t.Errorf("%s changed across a restart or is empty", name)
		}
	}
}

func envValue(env []byte, name string) string {
	for _, line := range strings.Split(string(env), "\n") {
		if v, ok := strings.CutPrefix(line, "export "+name+"="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

func TestApplianceEnvFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	fi, err := os.Stat(EnvFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("env file mode %v, want 0600", fi.Mode().Perm())
	}
	env, _ := os.ReadFile(EnvFile(dir))
	for _, name := range []string{
		"VAULT_ADDR", "VAULT_CACERT", "VAULT_TOKEN",
		"KES_SERVER", "KES_CLIENT_CERT", "KES_CLIENT_KEY",
		"AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"MINIO_KMS_KES_ENDPOINT", "MINIO_KMS_KES_CERT_FILE", "MINIO_KMS_KES_KEY_FILE", "MINIO_KMS_KES_KEY_NAME", "MINIO_KMS_KES_CAPATH",
	} {
		if envValue(env, name) == "" {
			t.Errorf("env file lacks %s", name)
		}
	}
	if got := envValue(env, "VAULT_ADDR"); got != a.URL("vault") {
		t.Errorf("VAULT_ADDR = %q, want %q", got, a.URL("vault"))
	}
	if got := envValue(env, "MINIO_KMS_KES_KEY_NAME"); got != "minio-key-1" {
		t.Errorf("MINIO_KMS_KES_KEY_NAME = %q", got)
	}
	for _, f := range []string{"certs/admin.key", "certs/minio.key", devVaultKeyFile, devCredentialsFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}

func TestAppliancePortConflict(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = Open(context.Background(), Config{
		DataDir:   t.TempDir(),
		VaultAddr: "127.0.0.1:0",
		KESAddr:   taken.Addr().String(),
		S3Addr:    "127.0.0.1:0",
	})
	if err == nil || !strings.Contains(err.Error(), "--kes-addr") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Open with a taken KES port: err = %v, want one naming --kes-addr", err)
	}
}

func TestApplianceDisabledServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true, VaultAddr: "127.0.0.1:0", S3Addr: "127.0.0.1:0"})
	if a.URL("kes") != "" {
		t.Fatalf("KES disabled but URL = %q", a.URL("kes"))
	}
	// The S3 server still reaches keys through the in-process KES.
	c := caClient(t, a.CAFile())
	if code := getStatus(t, c, a.URL("s3")+"/minio/health/ready"); code != http.StatusOK {
		t.Fatalf("s3 ready with KES listener disabled = %d", code)
	}
}

// TestDevAutoEncryptOff: with Dev, a plain upload is stored with SSE-S3, unless
// NoAutoEncrypt (an explicit --auto-encrypt=false) keeps it plain.
func TestDevAutoEncryptOff(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		s3      S3Config
		wantSSE string
	}{
		{"dev", S3Config{}, "AES256"},
		{"dev, auto-encrypt false", S3Config{NoAutoEncrypt: true}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			a, _ := startAppliance(t, Config{DataDir: dir, Dev: true, S3: c.s3})
			env := mustRead(t, EnvFile(dir))
			mc := minioClient(t, a, envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY"))
			ctx := context.Background()
			if err := mc.MakeBucket(ctx, "plain", minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := mc.PutObject(ctx, "plain", "o", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
			st, err := mc.StatObject(ctx, "plain", "o", minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Metadata.Get("X-Amz-Server-Side-Encryption"); got != c.wantSSE {
				t.Errorf("HEAD x-amz-server-side-encryption = %q, want %q", got, c.wantSSE)
			}
		})
	}
	if err := (&Config{DataDir: "d", S3Addr: ":0", S3: S3Config{AutoEncrypt: true, NoAutoEncrypt: true}}).Validate(); err == nil {
		t.Error("AutoEncrypt with NoAutoEncrypt accepted")
	}
}

// TestApplianceDrainsInFlight stops the appliance while an upload is half sent and checks
// that the upload still completes and is stored, and that Run returns.
func TestApplianceDrainsInFlight(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(context.Background(), Config{DataDir: dir, Dev: true, ShutdownTimeout: 5 * time.Second,
		VaultAddr: "127.0.0.1:0", KESAddr: "127.0.0.1:0", S3Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	// Learn from the server itself when its shutdown has begun. (Its ConnState hook is too
	// early a sign of an upload in flight: net/http marks a connection active when it has
	// read a request's headers, and then drops that request unanswered if Shutdown began in
	// between, which a client sees as EOF.)
	shuttingDown := make(chan struct{})
	for _, s := range a.services {
		if s.name == "s3" {
			s.srv.RegisterOnShutdown(func() { close(shuttingDown) })
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- a.Run(ctx) }()
	defer func() { cancel(); <-stopped }()

	env := mustRead(t, EnvFile(dir))
	access, secret := envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY")
	client := caClient(t, a.CAFile())
	mc := minioClient(t, a, access, secret)
	if err := mc.MakeBucket(context.Background(), "drain", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	// A signed PUT with UNSIGNED-PAYLOAD whose body comes through a pipe. Expect:
	// 100-continue makes the client send the headers at once and the body only when the
	// handler asks for it; the client learns of that ask (100 Continue) through the trace.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPut, a.URL("s3")+"/drain/slow", pr)
	req.ContentLength = 8
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, access, secret, "", "us-east-1")
	continued := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got100Continue: func() { close(continued) },
	}))
	client.Transport.(*http.Transport).DisableKeepAlives = true
	client.Transport.(*http.Transport).ExpectContinueTimeout = time.Minute
	uploaded := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
		uploaded <- err
	}()
	select {
	case <-continued: // the handler is reading the upload's body
	case err := <-uploaded:
		t.Fatalf("upload ended before the server asked for its body: %v", err)
	}
	cancel()
	<-shuttingDown // the body is sent only once the S3 server is shutting down
	pw.Write([]byte("halfdone"))
	pw.Close()

	if err := <-uploaded; err != nil {
		t.Fatalf("in-flight upload failed during shutdown: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
	stopped <- nil // for the deferred receive
	if _, err := client.Get(a.URL("s3") + "/minio/health/live"); err == nil {
		t.Fatal("server still answers after Run returned")
	}

	// The upload that was in flight is stored.
	b, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	obj, err := minioClient(t, b, access, secret).GetObject(context.Background(), "drain", "slow", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || string(got) != "halfdone" {
		t.Fatalf("object after restart = %q, %v; want halfdone", got, err)
	}
}

func minioClient(t *testing.T, a *Appliance, access, secret string) *minio.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, a.CAFile()))
	mc, err := minio.New(a.Addr("s3"), &minio.Options{
		Creds:     credentials.NewStaticV4(access, secret, ""),
		Secure:    true,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// With the guide's root = "disabled" nobody may ask KES /v1/ready; `kmsbox health` then
// settles for KES answering at all, and still fails when it does not.
func TestHealthWithAdminDisabled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, stop := startAppliance(t, Config{DataDir: dir, Dev: true, KESConfig: &kesconf.File{Admin: "disabled"}})
	hc := HealthConfig{DataDir: dir, VaultAddr: a.Addr("vault"), KESAddr: a.Addr("kes"), S3Addr: a.Addr("s3")}
	admin, err := tls.LoadX509KeyPair(filepath.Join(dir, "certs", "admin.crt"), filepath.Join(dir, "certs", "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	if code := getStatus(t, caClient(t, a.CAFile(), admin), a.URL("kes")+"/v1/ready"); code != http.StatusForbidden {
		t.Fatalf("admin disabled, yet /v1/ready as admin = %d", code)
	}
	if err := Health(context.Background(), hc); err != nil {
		t.Fatalf("Health: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := Health(context.Background(), hc); err == nil {
		t.Fatal("Health succeeded with every server stopped")
	}
}

// Sealing is the emergency stop: the very next S3 request that needs a key fails, without
// waiting for any readiness probe to notice.
func TestSealStopsKeyUseAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	env := mustRead(t, EnvFile(dir))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, a.CAFile()))
	mc, err := minio.New(a.Addr("s3"), &minio.Options{
		Creds:      credentials.NewStaticV4(envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY"), ""),
		Secure:     true,
		Transport:  &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		MaxRetries: 1, // the KMS errors are 500s, which minio-go would otherwise retry
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := mc.MakeBucket(ctx, "seal", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put := func(key string) error {
		_, err := mc.PutObject(ctx, "seal", key, strings.NewReader("secret"), 6, minio.PutObjectOptions{})
		return err
	}
	if err := put("before"); err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequest(http.MethodPut, a.URL("vault")+"/v1/sys/seal", nil)
	req.Header.Set("X-Vault-Token", envValue(env, "VAULT_TOKEN"))
	resp, err := caClient(t, a.CAFile()).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sys/seal = %s", resp.Status)
	}

	err = put("after")
	if code := minio.ToErrorResponse(err).Code; code != "kms:KeyGenerationFailed" {
		t.Fatalf("PUT right after seal: err = %v (code %q), want kms:KeyGenerationFailed", err, code)
	}
	obj, err := mc.GetObject(ctx, "seal", "before", minio.GetObjectOptions{})
	if err == nil {
		_, err = io.ReadAll(obj)
	}
	if code := minio.ToErrorResponse(err).Code; code != "kms:DecryptionFailed" {
		t.Fatalf("GET right after seal: err = %v (code %q), want kms:DecryptionFailed", err, code)
	}
}

// A connection that never sent a request (a client's spare pooled connection) must not hold
// up a shutdown: net/http would wait up to 5 seconds for it, longer than the whole budget.
func TestShutdownClosesFreshConnections(t *testing.T) {
	dir := t.TempDir()
	a, stop := startAppliance(t, Config{DataDir: dir, Dev: true, ShutdownTimeout: 2 * time.Second})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, a.CAFile()))
	admin, err := tls.LoadX509KeyPair(filepath.Join(dir, "certs", "admin.crt"), filepath.Join(dir, "certs", "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, server := range []string{"vault", "kes", "s3"} {
		conn, err := tls.Dial("tcp", a.Addr(server), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{admin}})
		if err != nil {
			t.Fatalf("%s: %v", server, err)
		}
		defer conn.Close()
	}
	if err := stop(); err != nil {
		t.Fatalf("Run with idle fresh connections open: %v", err)
	}
}

// An early refusal of a request whose client waits for "100 Continue" before sending its
// body must be answered at once, not after the client gives up waiting: KES refuses a bad key
// name before it reads the body.
func TestEarlyAnswerToExpectContinue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	admin, err := tls.LoadX509KeyPair(filepath.Join(dir, "certs", "admin.crt"), filepath.Join(dir, "certs", "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	client := caClient(t, a.CAFile(), admin)
	client.Transport.(*http.Transport).ExpectContinueTimeout = time.Minute

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := strings.NewReader(`{"context":""}`)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, a.URL("kes")+"/v1/key/generate/_", body)
	req.Header.Set("Expect", "100-continue")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("refused request with Expect: 100-continue got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad key name: %s, want 400", resp.Status)
	}
}
