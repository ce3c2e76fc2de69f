package appliance

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// devVault is a Vault API client of the dev appliance a, with its root token.
func devVault(t *testing.T, a *Appliance) *vaultapi.Client {
	t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = a.URL("vault")
	if err := cfg.ConfigureTLS(&vaultapi.TLSConfig{CACert: a.CAFile()}); err != nil {
		t.Fatal(err)
	}
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(envValue(mustRead(t, EnvFile(a.cfg.DataDir)), "VAULT_TOKEN"))
	return c
}

func adminCert(t *testing.T, dir string) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, "certs", "admin.crt"), filepath.Join(dir, "certs", "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// After a reset the secrets, KES keys, buckets and objects made before are gone, the dev
// state is as fresh, and the CA, root token and S3 credentials still work.
func TestResetBringsBackDevState(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true, ConsoleAddr: "127.0.0.1:0"})
	env := mustRead(t, EnvFile(dir))
	access, secret := envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY")
	vc := devVault(t, a)
	mc := minioClient(t, a, access, secret)
	caBefore := caFingerprint(t, a.CAFile())

	if err := vc.Sys().Mount("app", &vaultapi.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.Logical().Write("app/db", map[string]any{"password": "s3cr3t"}); err != nil {
		t.Fatal(err)
	}
	if err := a.gen.kes.CreateKey(ctx, "app-key"); err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, "before", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.PutObject(ctx, "before", "o", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	if err := RemoteReset(ctx, a.URL("vault"), vc.Token(), a.CAFile()); err != nil {
		t.Fatalf("RemoteReset: %v", err)
	}

	if s, err := vc.Logical().Read("app/db"); err == nil && s != nil {
		t.Errorf("app/db after reset = %v, want gone", s.Data)
	}
	mounts, err := vc.Sys().ListMounts()
	if err != nil {
		t.Fatalf("root token after reset: %v", err)
	}
	if _, ok := mounts["app/"]; ok {
		t.Error("mount app/ survived the reset")
	}
	if _, ok := mounts[kesDefaultMount+"/"]; !ok {
		t.Errorf("mount %s/ missing after reset: %v", kesDefaultMount, mounts)
	}
	keys, err := a.gen.kes.ListKeys(ctx, "")
	if err != nil || !slices.Equal(keys, []string{defaultKeyName}) {
		t.Errorf("KES keys after reset = %v, %v; want only %s", keys, err, defaultKeyName)
	}
	buckets, err := mc.ListBuckets(ctx)
	if err != nil || len(buckets) != 0 {
		t.Errorf("buckets after reset = %v, %v; want none", buckets, err)
	}
	// The dev chain works as on a fresh start: an upload is encrypted with the dev key.
	if err := mc.MakeBucket(ctx, "after", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.PutObject(ctx, "after", "o", strings.NewReader("y"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := mc.StatObject(ctx, "after", "o", minio.StatObjectOptions{})
	if err != nil || st.Metadata.Get("X-Amz-Server-Side-Encryption") != "AES256" {
		t.Errorf("object after reset: SSE %q, %v; want AES256", st.Metadata.Get("X-Amz-Server-Side-Encryption"), err)
	}
	if caFingerprint(t, a.CAFile()) != caBefore {
		t.Error("the CA changed")
	}
	c := caClient(t, a.CAFile(), adminCert(t, dir))
	for _, u := range []string{a.URL("kes") + "/v1/ready", a.URL("console") + "/"} {
		if code := getStatus(t, c, u); code != http.StatusOK {
			t.Errorf("GET %s after reset = %d, want 200", u, code)
		}
	}
	if got := mustRead(t, EnvFile(dir)); !bytes.Equal(got, env) {
		t.Errorf("env file changed:\n%s\nwant\n%s", got, env)
	}
}

func TestResetEndpointAuth(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	c := caClient(t, a.CAFile())
	for _, tc := range []struct {
		name, method, token string
		want                int
	}{
		{"no token", http.MethodPost, "", http.StatusForbidden},
		{"wrong token", http.MethodPost, "hvs.nope", http.StatusForbidden},
		{"GET", http.MethodGet, envValue(mustRead(t, EnvFile(dir)), "VAULT_TOKEN"), http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequest(tc.method, a.URL("vault")+ResetPath, nil)
		if tc.token != "" {
			req.Header.Set("X-Vault-Token", tc.token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || !strings.HasPrefix(string(body), `{"errors":[`) {
			t.Errorf("%s: %d %s, want %d with a Vault error body", tc.name, resp.StatusCode, body, tc.want)
		}
	}
	// Only the Vault port has the endpoint; elsewhere it is the server's own 4xx.
	if code := getStatus(t, c, a.URL("s3")+ResetPath); code == http.StatusNoContent || code < 400 {
		t.Errorf("S3 port %s = %d", ResetPath, code)
	}
}

func TestResetNeedsDev(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir})
	if err := a.Reset(context.Background()); !errors.Is(err, ErrResetNotDev) {
		t.Errorf("Reset without --dev = %v, want ErrResetNotDev", err)
	}
	req, _ := http.NewRequest(http.MethodPost, a.URL("vault")+ResetPath, nil)
	req.Header.Set("X-Vault-Token", "anything")
	resp, err := caClient(t, a.CAFile()).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST %s without --dev = %d, want 404", ResetPath, resp.StatusCode)
	}
}

// Resets during load: every request gets an HTTP answer (no hung or reset connection), and
// the ones whose meaning does not depend on the data (the root token's lookup, KES's
// status, S3's readiness) all succeed.
func TestResetUnderLoad(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	env := mustRead(t, EnvFile(dir))
	access, secret, token := envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY"), envValue(env, "VAULT_TOKEN")
	client := caClient(t, a.CAFile(), adminCert(t, dir))

	type probe struct {
		name string
		req  func() *http.Request
		ok   func(status int) bool
	}
	always200 := func(s int) bool { return s == http.StatusOK }
	answered := func(s int) bool { return s > 0 } // any answer; the bucket may be gone
	probes := []probe{
		{"vault lookup-self", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, a.URL("vault")+"/v1/auth/token/lookup-self", nil)
			r.Header.Set("X-Vault-Token", token)
			return r
		}, always200},
		{"kes status", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, a.URL("kes")+"/v1/status", nil)
			return r
		}, always200},
		{"s3 ready", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, a.URL("s3")+"/minio/health/ready", nil)
			return r
		}, always200},
		{"s3 put", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPut, a.URL("s3")+"/load/obj", strings.NewReader("payload"))
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			return signer.SignV4(*r, access, secret, "", "us-east-1")
		}, answered},
		{"s3 create bucket", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPut, a.URL("s3")+"/load", nil)
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			return signer.SignV4(*r, access, secret, "", "us-east-1")
		}, answered},
	}

	var (
		stop     atomic.Bool
		started  sync.WaitGroup
		done     sync.WaitGroup
		requests atomic.Int64
		mu       sync.Mutex
		failures []string
	)
	for _, p := range probes {
		for range 2 {
			started.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				first := true
				for !stop.Load() {
					resp, err := client.Do(p.req())
					status := 0
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						status = resp.StatusCode
					}
					requests.Add(1)
					if err != nil || !p.ok(status) {
						mu.Lock()
						failures = append(failures, p.name+": "+http.StatusText(status)+" "+errString(err))
						mu.Unlock()
					}
					if first {
						started.Done()
						first = false
					}
				}
			}()
		}
	}
	started.Wait()
	const resets = 5
	for range resets {
		if err := a.Reset(context.Background()); err != nil {
			t.Errorf("Reset: %v", err)
		}
	}
	stop.Store(true)
	done.Wait()
	t.Logf("%d requests during %d resets", requests.Load(), resets)
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed, e.g. %v", len(failures), requests.Load(), failures[:min(5, len(failures))])
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// A request in flight when a reset starts finishes on the old servers: the reset waits.
func TestResetWaitsForRequestInFlight(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	env := mustRead(t, EnvFile(dir))
	access, secret := envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY")
	mc := minioClient(t, a, access, secret)
	if err := mc.MakeBucket(context.Background(), "slow", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPut, a.URL("s3")+"/slow/obj", pr)
	req.ContentLength = 8
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	// Expect: 100-continue: the client sends the body only once the handler reads it.
	req.Header.Set("Expect", "100-continue")
	req = signer.SignV4(*req, access, secret, "", "us-east-1")
	client := caClient(t, a.CAFile())
	client.Transport.(*http.Transport).ExpectContinueTimeout = time.Minute
	uploaded := make(chan int, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			uploaded <- 0
			return
		}
		resp.Body.Close()
		uploaded <- resp.StatusCode
	}()
	pw.Write([]byte("half")) // returns once the handler reads it: the request is in flight
	reset := make(chan error, 1)
	go func() { reset <- a.Reset(context.Background()) }()
	pw.Write([]byte("done"))
	pw.Close()
	if code := <-uploaded; code != http.StatusOK {
		t.Errorf("upload in flight during a reset = %d, want 200", code)
	}
	if err := <-reset; err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if _, err := mc.StatObject(context.Background(), "slow", "obj", minio.StatObjectOptions{}); err == nil {
		t.Error("the object uploaded before the reset is still there")
	}
}

// BenchmarkReset measures a reset of a --dev appliance with nothing in it (ms/op).
func BenchmarkReset(b *testing.B) {
	dir := b.TempDir()
	a, err := Open(context.Background(), Config{DataDir: dir, Dev: true,
		VaultAddr: "127.0.0.1:0", KESAddr: "127.0.0.1:0", S3Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	start := time.Now()
	for b.Loop() {
		if err := a.Reset(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}
