//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/minio/minio-go/v7"
)

// loadClients are the clients of one server run that the crash and soak loads use.
type loadClients struct {
	s3     *minio.Client
	vault  *vaultapi.Client
	kes    *http.Client
	kesURL string
}

// newLoadClients builds clients of srv: minio-go, vault/api with the root token, and an
// HTTPS client with the KES admin certificate. None retries: a failure is an answer here.
func newLoadClients(t testing.TB, srv *proc) *loadClients {
	t.Helper()
	pool := caPool(t, srv.caFile())
	vc := vaultClient(t, srv, srv.env["VAULT_TOKEN"])
	vc.SetClientTimeout(30 * time.Second)
	return &loadClients{
		s3:     s3Client(t, srv, pool),
		vault:  vc,
		kes:    httpsClient(t, pool, srv.env["KES_CLIENT_CERT"], srv.env["KES_CLIENT_KEY"]),
		kesURL: srv.env["KES_SERVER"],
	}
}

// kesDo sends a KES request and returns its status (0 and the error when there was no answer).
func (c *loadClients) kesDo(ctx context.Context, method, path string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.kesURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp, err := c.kes.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// putObject stores data at bucket/key; partSize 0 lets minio-go choose (one PUT below 16 MiB).
func (c *loadClients) putObject(ctx context.Context, bucket, key string, data []byte, partSize uint64) error {
	_, err := c.s3.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{PartSize: partSize, DisableContentSha256: true})
	return err
}

// getHash returns the hex SHA-256 of bucket/key's content, "" when it does not exist.
func (c *loadClients) getHash(ctx context.Context, bucket, key string) (string, error) {
	o, err := c.s3.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", err
	}
	defer o.Close()
	h := sha256.New()
	if _, err := io.Copy(h, o); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return "", nil
		}
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// randomData returns n random bytes and their hex SHA-256.
func randomData(n int) ([]byte, string) {
	b := make([]byte, n)
	rand.Read(b)
	s := sha256.Sum256(b)
	return b, hex.EncodeToString(s[:])
}

// randN returns a random int in [0, n).
func randN(n int) int {
	var b [4]byte
	rand.Read(b[:])
	return int(uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24) % n
}

// envInt is the integer environment variable name, or def when it is unset.
func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// envDuration is the duration environment variable name, or def when it is unset.
func envDuration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive duration", name, v)
	}
	return d
}

// runCheck runs `kmsbox check` on a stopped server's data dir and fails the test unless it
// exits 0.
func runCheck(t testing.TB, dataDir string) string {
	t.Helper()
	return cmd{env: baseEnv(t.TempDir())}.ok(t, kmsboxBin(t), "check", "--data-dir", dataDir)
}

// checkAfterKill runs `kmsbox check` on a data dir a SIGKILL just left: it may exit 1, but
// only for orphan body files and stale temp files, which the next start removes.
func checkAfterKill(t testing.TB, dataDir string) string {
	t.Helper()
	r := cmd{env: baseEnv(t.TempDir())}.run(t, kmsboxBin(t), "check", "--data-dir", dataDir)
	if r.code == 0 {
		return r.stdout
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "problem:") && !strings.HasPrefix(line, "problem: orphan body file ") &&
			!strings.HasPrefix(line, "problem: stale temp file ") {
			t.Errorf("kmsbox check after a kill: %s\n%s", line, r.stdout)
		}
	}
	if r.code != 1 {
		t.Errorf("kmsbox check after a kill: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// must fails the test on err.
func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// kvPath names one KV entry of the loads: v1 "kv1/<key>", v2 "kv2/data/<key>".
func kvPath(version int, key string) string {
	if version == 1 {
		return "kv1/" + key
	}
	return "kv2/data/" + key
}

// kvWrite writes value at key of the KV version's mount.
func (c *loadClients) kvWrite(ctx context.Context, version int, key, value string) error {
	data := map[string]any{"v": value}
	if version == 2 {
		data = map[string]any{"data": data}
	}
	// WriteRaw: vault/api's Write takes a 404 without a body for success.
	body, err := json.Marshal(data)
	if err != nil {
		return err
	}
	resp, err := c.vault.Logical().WriteRawWithContext(ctx, kvPath(version, key), body)
	if resp != nil {
		defer resp.Body.Close()
	}
	if err == nil && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		err = fmt.Errorf("vault answered %d", resp.StatusCode)
	}
	return err
}

// kvRead reads key of the KV version's mount; "" when absent.
func (c *loadClients) kvRead(ctx context.Context, version int, key string) (string, error) {
	s, err := c.vault.Logical().ReadWithContext(ctx, kvPath(version, key))
	if err != nil || s == nil {
		return "", err
	}
	data := s.Data
	if version == 2 {
		d, _ := s.Data["data"].(map[string]any)
		data = d
	}
	v, _ := data["v"].(string)
	return v, nil
}

// enableKV mounts KV v1 at kv1/ and v2 at kv2/.
func (c *loadClients) enableKV(t testing.TB) {
	t.Helper()
	for v, path := range map[string]string{"1": "kv1", "2": "kv2"} {
		must(t, "mount "+path, c.vault.Sys().Mount(path, &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": v}}))
	}
}
