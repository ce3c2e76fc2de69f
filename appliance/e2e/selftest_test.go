//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// `kmsbox selftest` against a running `kmsbox server --dev` passes every check and exits 0;
// against a stopped one it lists the failures and exits 1. The CA that every port serves is
// what `kmsbox cert ca` prints.
func TestSelftestAgainstDevServer(t *testing.T) {
	bin := kmsboxBin(t)
	srv := startServer(t, t.TempDir())
	c := cmd{env: baseEnv(t.TempDir())}

	out := c.ok(t, bin, "selftest", "--data-dir", srv.dataDir)
	for _, want := range []string{"ok    vault status", "ok    vault kv write/read", "ok    kes key create/generate/decrypt/delete",
		"ok    s3 put/get with SSE-S3, stored encrypted", "checks passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("selftest output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("selftest printed a failure:\n%s", out)
	}

	ca := c.ok(t, bin, "cert", "ca", "--data-dir", srv.dataDir)
	pool := caPool(t, srv.caFile())
	client := httpsClient(t, pool, filepath.Join(srv.dataDir, "certs", "admin.crt"), filepath.Join(srv.dataDir, "certs", "admin.key"))
	for _, name := range []string{"vault", "kes", "s3", "console"} {
		resp, err := client.Get(srv.urls[name] + "/kmsbox/ca.crt")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, []byte(ca)) {
			t.Errorf("%s: GET /kmsbox/ca.crt = %d, %q; want kmsbox cert ca's output", name, resp.StatusCode, got)
		}
	}

	srv.mustStop(t)
	r := c.fails(t, bin, "selftest", "--data-dir", srv.dataDir, "--timeout", "5s")
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  vault status") || !strings.Contains(r.stdout, "FAIL  s3 put/get") {
		t.Errorf("selftest against a stopped server: exit %d\n%s", r.code, r.stdout)
	}
}

// `kmsbox reset` against a running dev server: what was made is gone, the credentials still
// work, and selftest passes after it.
func TestResetAgainstDevServer(t *testing.T) {
	bin := kmsboxBin(t)
	srv := startServer(t, t.TempDir())
	c := cmd{env: baseEnv(t.TempDir())}
	mc := s3Client(t, srv, caPool(t, srv.caFile()))
	ctx := context.Background()
	if err := mc.MakeBucket(ctx, "before-reset", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	out := c.ok(t, bin, "reset", "--data-dir", srv.dataDir)
	if !strings.HasPrefix(out, "reset in ") {
		t.Errorf("kmsbox reset printed %q", out)
	}
	if ok, err := mc.BucketExists(ctx, "before-reset"); err != nil || ok {
		t.Errorf("bucket after reset: exists %v, %v; want gone", ok, err)
	}
	c.ok(t, bin, "selftest", "--data-dir", srv.dataDir)
	c.ok(t, bin, "health", "--data-dir", srv.dataDir, "--vault-addr", srv.addr("vault"), "--kes-addr", srv.addr("kes"), "--s3-addr", srv.addr("s3"))

	// A wrong token is refused.
	bad := cmd{env: append(baseEnv(t.TempDir()), "VAULT_ADDR="+srv.urls["vault"], "VAULT_TOKEN=wrong", "VAULT_CACERT="+srv.caFile())}
	if r := bad.fails(t, bin, "reset", "--data-dir", t.TempDir()); !strings.Contains(r.stderr, "403") {
		t.Errorf("reset with a wrong token: %s", r.stderr)
	}
}
