//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/kmsbox/kmsbox/internal/testutil"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The names TestRealSeaweedFS gives things in kmsbox's vault and in SeaweedFS.
const (
	weedKey        = "seaweed-key-1" // the Transit key SeaweedFS encrypts its data keys with
	weedOtherKey   = "seaweed-other" // a Transit key SeaweedFS's AppRole must not reach
	weedPolicy     = "seaweedfs-transit"
	weedRole       = "seaweedfs"
	weedAccessKey  = "seaweed-admin"
	weedSecretKey  = "seaweed-admin-secret"
	weedHeaderBkt  = "sse-header"  // objects sent with x-amz-server-side-encryption: aws:kms
	weedDefaultBkt = "sse-default" // PutBucketEncryption aws:kms with weedKey
)

// weedRig is what the steps of TestRealSeaweedFS share.
type weedRig struct {
	srv  *proc
	root *vaultapi.Client // root token on kmsbox's vault

	roleID, secretID string
	disk             string // SeaweedFS's data dir
	s3               *minio.Client

	// Random, so incompressible: absent from the disk means transformed, not squeezed.
	body, plain []byte
}

// TestRealSeaweedFS runs the real SeaweedFS (`weed server -s3`, a separate process) with its
// `openbao` KMS provider on kmsbox's Transit engine: over HTTPS trusting kmsbox's CA, logged in
// with an AppRole whose policy allows only transit/encrypt, transit/decrypt and transit/keys
// of one key. SSE-KMS uploads, by header and by bucket default, round-trip through SeaweedFS
// and are not in the clear on its disk; sealing kmsbox's vault stops SeaweedFS's encrypted
// reads and writes, and unsealing it restores them.
func TestRealSeaweedFS(t *testing.T) {
	bin := peerBin(t, "KMSBOX_WEED_BIN", "bin/weed")
	r := &weedRig{srv: startServer(t, t.TempDir()), disk: t.TempDir(), body: randomBytes(64 << 10), plain: randomBytes(64 << 10)}
	r.root = vaultClient(t, r.srv, r.srv.env["VAULT_TOKEN"])
	if !steps(t, step{"transit key", r.transitKey}, step{"approle", r.appRole}, step{"least privilege", r.leastPrivilege}) {
		return
	}
	// Started here, not in a step: a step's cleanups run when the step ends.
	r.startWeed(t, bin, t.TempDir())
	steps(t, step{"sse-kms header", r.sseKMSHeader}, step{"bucket default encryption", r.bucketDefault},
		step{"nothing in the clear", r.nothingInTheClear}, step{"sealed", r.sealed}, step{"unsealed", r.unsealed})
}

// step is one named subtest of a test that runs in steps.
type step struct {
	name string
	fn   func(*testing.T)
}

// steps runs the steps in order as subtests, up to the first that fails; it reports whether
// all passed.
func steps(t *testing.T, list ...step) bool {
	for _, s := range list {
		if !t.Run(s.name, s.fn) {
			return false
		}
	}
	return true
}

// vaultClient is a vault/api client of kmsbox's vault trusting kmsbox's CA, with token.
func vaultClient(t testing.TB, srv *proc, token string) *vaultapi.Client {
	t.Helper()
	cfg := vaultapi.DefaultConfig()
	cfg.Address = srv.env["VAULT_ADDR"]
	cfg.MaxRetries = 0 // a sealed vault's 503 is an answer here, not something to wait out
	if err := cfg.ConfigureTLS(&vaultapi.TLSConfig{CACert: srv.caFile()}); err != nil {
		t.Fatal(err)
	}
	vc, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vc.SetToken(token)
	return vc
}

// vaultWrite writes path with the client and fails the test on an error.
func vaultWrite(t testing.TB, vc *vaultapi.Client, path string, data map[string]any) *vaultapi.Secret {
	t.Helper()
	s, err := vc.Logical().Write(path, data)
	if err != nil {
		t.Fatalf("vault write %s: %v", path, err)
	}
	return s
}

// vaultStatus returns the HTTP status of a vault/api error (0 for another error), failing the
// test when there was no error.
func vaultStatus(t testing.TB, what string, err error) int {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want a refusal", what)
	}
	var re *vaultapi.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%s: %v, want an HTTP error from the vault", what, err)
	}
	return re.StatusCode
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// transitKey mounts Transit at transit/ unless `server --dev` did already, and creates the
// key SeaweedFS uses and one it must not reach.
func (r *weedRig) transitKey(t *testing.T) {
	mounts, err := r.root.Sys().ListMounts()
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := mounts["transit/"]; !ok {
		if err := r.root.Sys().Mount("transit", &vaultapi.MountInput{Type: "transit"}); err != nil {
			t.Fatalf("mount transit/: %v", err)
		}
	} else if m.Type != "transit" {
		t.Fatalf("transit/ is a %q mount, want transit", m.Type)
	}
	for _, k := range []string{weedKey, weedOtherKey} {
		vaultWrite(t, r.root, "transit/keys/"+k, map[string]any{"type": "aes256-gcm96"})
	}
	s, err := r.root.Logical().Read("transit/keys/" + weedKey)
	if err != nil || s == nil {
		t.Fatalf("read transit/keys/%s: %v, %v", weedKey, s, err)
	}
	if s.Data["type"] != "aes256-gcm96" {
		t.Errorf("transit/keys/%s has type %v, want aes256-gcm96", weedKey, s.Data["type"])
	}
}

// appRole enables AppRole (unless enabled), writes the policy that allows SeaweedFS exactly
// what its openbao provider calls for weedKey, and a role with that policy. The provider logs
// in at auth/approle/login, wraps each new data key with transit/encrypt/<key>, unwraps it with
// transit/decrypt/<key> and describes a key with a read of transit/keys/<key>. (At start it
// also reads transit/keys/health-check-dummy-key as a health check: refused here with 403, so
// SeaweedFS logs the provider as unhealthy and serves on.)
func (r *weedRig) appRole(t *testing.T) {
	auths, err := r.root.Sys().ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := auths["approle/"]; !ok {
		vaultWrite(t, r.root, "sys/auth/approle", map[string]any{"type": "approle"})
	}
	vaultWrite(t, r.root, "sys/policies/acl/"+weedPolicy, map[string]any{"policy": fmt.Sprintf(`
path "transit/encrypt/%[1]s" {
  capabilities = ["update"]
}
path "transit/decrypt/%[1]s" {
  capabilities = ["update"]
}
path "transit/keys/%[1]s" {
  capabilities = ["read"]
}
`, weedKey)})
	// SeaweedFS logs in once at start and never renews: a token that outlives the test.
	vaultWrite(t, r.root, "auth/approle/role/"+weedRole, map[string]any{
		"token_policies": weedPolicy, "token_ttl": "1h", "token_max_ttl": "2h", "secret_id_num_uses": 0,
	})
	s, err := r.root.Logical().Read("auth/approle/role/" + weedRole + "/role-id")
	if err != nil || s == nil {
		t.Fatalf("read role-id: %v, %v", s, err)
	}
	r.roleID, _ = s.Data["role_id"].(string)
	s = vaultWrite(t, r.root, "auth/approle/role/"+weedRole+"/secret-id", nil)
	if s != nil {
		r.secretID, _ = s.Data["secret_id"].(string)
	}
	if r.roleID == "" || r.secretID == "" {
		t.Fatalf("role ID %q, secret ID %q: want both", r.roleID, r.secretID)
	}
}

// leastPrivilege logs in with the AppRole the way SeaweedFS does and checks that its token
// reaches weedKey's encrypt, decrypt and key info, and nothing else.
func (r *weedRig) leastPrivilege(t *testing.T) {
	login := vaultClient(t, r.srv, "")
	s := vaultWrite(t, login, "auth/approle/login", map[string]any{"role_id": r.roleID, "secret_id": r.secretID})
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		t.Fatalf("approle login returned %+v, want a token", s)
	}
	vc := vaultClient(t, r.srv, s.Auth.ClientToken)

	dataKey := randomBytes(32)
	enc := vaultWrite(t, vc, "transit/encrypt/"+weedKey, map[string]any{"plaintext": base64.StdEncoding.EncodeToString(dataKey)})
	ct, _ := enc.Data["ciphertext"].(string)
	if !strings.HasPrefix(ct, "vault:v1:") {
		t.Fatalf("transit/encrypt/%s gave ciphertext %q, want vault:v1:...", weedKey, ct)
	}
	dec := vaultWrite(t, vc, "transit/decrypt/"+weedKey, map[string]any{"ciphertext": ct})
	if pt, _ := dec.Data["plaintext"].(string); pt != base64.StdEncoding.EncodeToString(dataKey) {
		t.Fatalf("transit/decrypt/%s gave %q, want the data key back", weedKey, pt)
	}
	if info, err := vc.Logical().Read("transit/keys/" + weedKey); err != nil || info == nil {
		t.Fatalf("the AppRole token cannot read transit/keys/%s: %v", weedKey, err)
	}

	refused := []struct {
		op, path string
		data     map[string]any
	}{
		{"read", "transit/keys/" + weedOtherKey, nil},
		{"read", "transit/export/encryption-key/" + weedKey, nil},
		{"write", "transit/encrypt/" + weedOtherKey, map[string]any{"plaintext": base64.StdEncoding.EncodeToString(dataKey)}},
		{"write", "transit/keys/" + weedKey + "/rotate", nil},
		{"write", "transit/keys/" + weedKey + "/config", map[string]any{"exportable": true}},
		{"read", "sys/mounts", nil},
	}
	for _, c := range refused {
		var err error
		if c.op == "read" {
			_, err = vc.Logical().Read(c.path)
		} else {
			_, err = vc.Logical().Write(c.path, c.data)
		}
		if code := vaultStatus(t, "the AppRole token's "+c.op+" of "+c.path, err); code != http.StatusForbidden {
			t.Errorf("the AppRole token's %s of %s: status %d, want 403", c.op, c.path, code)
		}
	}
}

// weedConfig is SeaweedFS's -s3.config: one S3 identity and the KMS block of its openbao
// provider. The data key cache is off, so that every read of an object asks the vault for its
// data key (on by default: a decrypted data key would then serve reads for cache_ttl, 1 h,
// whatever the vault's state; weed/kms/cache.go caches Decrypt only, never GenerateDataKey).
func (r *weedRig) weedConfig(t *testing.T) []byte {
	cfg := map[string]any{
		"identities": []any{map[string]any{
			"name":        "admin",
			"credentials": []any{map[string]any{"accessKey": weedAccessKey, "secretKey": weedSecretKey}},
			"actions":     []string{"Admin", "Read", "List", "Tagging", "Write"},
		}},
		"kms": map[string]any{
			"default_provider": "kmsbox",
			"providers": map[string]any{"kmsbox": map[string]any{
				"type":            "openbao",
				"address":         r.srv.env["VAULT_ADDR"],
				"ca_cert":         r.srv.caFile(),
				"role_id":         r.roleID,
				"secret_id":       r.secretID,
				"transit_path":    "transit",
				"request_timeout": 10,
				"cache_enabled":   false,
			}},
		},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startWeed starts `weed server -s3` on loopback ports in r.disk and waits until its S3 API
// takes an upload (the volume server registers with the master after the S3 API listens).
func (r *weedRig) startWeed(t *testing.T, bin, work string) {
	cfgFile := filepath.Join(work, "s3.json")
	writeFile(t, cfgFile, r.weedConfig(t))
	var ports []string
	port := func() string {
		_, p, err := net.SplitHostPort(testutil.FreeAddr(t))
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
		return p
	}
	// weed leaves its gRPC Unix sockets in the system temp dir, named by port; registered
	// before startPeer, this runs after weed has been stopped.
	t.Cleanup(func() {
		for _, p := range ports {
			socks, _ := filepath.Glob(filepath.Join(os.TempDir(), "seaweedfs-*-"+p+".sock"))
			for _, s := range socks {
				os.Remove(s)
			}
		}
	})
	s3Port := port()
	args := []string{"-logtostderr", "server",
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=" + r.disk, "-master.telemetry=false",
		"-master.port=" + port(), "-master.port.grpc=" + port(), "-master.volumeSizeLimitMB=64",
		"-volume.port=" + port(), "-volume.port.grpc=" + port(),
		"-filer.port=" + port(), "-filer.port.grpc=" + port(),
		"-s3", "-s3.port=" + s3Port, "-s3.port.grpc=" + port(), "-s3.port.iceberg=0", "-s3.port.lance=0",
		"-s3.config=" + cfgFile,
	}
	// In work, with a HOME of its own: no filer.toml or security.toml from elsewhere.
	startPeer(t, bin, work, args, baseEnv(t.TempDir()), "Start Seaweed S3 API Server")

	mc, err := minio.New("127.0.0.1:"+s3Port, &minio.Options{
		Creds: credentials.NewStaticV4(weedAccessKey, weedSecretKey, ""), Region: "us-east-1", MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.s3 = mc
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for _, b := range []string{weedHeaderBkt, weedDefaultBkt} {
		if err := mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("make bucket %s: %v", b, err)
		}
	}
	// The first upload waits for a writable volume: poll with the plaintext control object.
	for {
		err := r.put(ctx, weedHeaderBkt, "plain.bin", r.plain, nil)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("SeaweedFS never took an upload: %v", err)
		case <-time.After(100 * time.Millisecond): // a poll interval, bounded by ctx
		}
	}
}
