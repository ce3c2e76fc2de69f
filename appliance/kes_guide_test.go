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
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/minio/kms-go/kes"

	"github.com/kmsbox/kmsbox/appliance/kesconf"
	"github.com/kmsbox/kmsbox/certs"
	"github.com/kmsbox/kmsbox/internal/testutil"
)

// The guide's KES steps with the real KES client (kms-go/kes, AGPL: test files only) over
// mTLS against the in-process appliance: the dev setup of step 4.3, a sealed vault under
// KES, the guide's TOML config keeping keys at kv/minio/ of kmsbox's own vault, and a KES
// config whose key store is another kmsbox's Vault API (K/V v1 and v2, AppRole).

// guideTLSCert loads base.crt and base.key.
func guideTLSCert(t *testing.T, base string) tls.Certificate {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(base+".crt", base+".key")
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// guidePool returns a pool with the PEM certificates of file.
func guidePool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(mustRead(t, file)) {
		t.Fatal("no certificate in", file)
	}
	return pool
}

// guideKES returns a KES client for endpoint that trusts only roots and presents cert.
func guideKES(endpoint string, roots *x509.CertPool, cert tls.Certificate) *kes.Client {
	return kes.NewClientWithConfig(endpoint, &tls.Config{
		MinVersion:   tls.VersionTLS12,
		RootCAs:      roots,
		Certificates: []tls.Certificate{cert},
	})
}

// guideKESCode returns the HTTP status of a KES API error, 0 if err is not one.
func guideKESCode(err error) int {
	var e kes.Error
	if errors.As(err, &e) {
		return e.Status()
	}
	return 0
}

// guideIdentity makes a self-signed client identity as `kes tool identity new NAME` does,
// writes it to dir/name.{crt,key} and returns it with its KES identity.
func guideIdentity(t *testing.T, dir, name string) (tls.Certificate, string) {
	t.Helper()
	certPEM, keyPEM, err := certs.NewIdentity(name, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, name)
	if err := os.WriteFile(base+".crt", certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".key", keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := certs.IdentityOfPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return guideTLSCert(t, base), id
}

// guideServerCert makes the self-signed KES server certificate of the guide's step 4.1
// (`kes tool identity new --ip 127.0.0.1 localhost`) in dir and returns its files.
func guideServerCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "kes-tls.crt"), filepath.Join(dir, "kes-tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// guideRoundTrip generates a data key under name and decrypts it again with c, and checks
// that the wrong context and a tampered ciphertext fail as KES fails them.
func guideRoundTrip(t *testing.T, c *kes.Client, name string) kes.DEK {
	t.Helper()
	ctx := t.Context()
	assoc := []byte(`{"bucket":"guide","object":"a.txt"}`)
	dek, err := c.GenerateKey(ctx, name, assoc)
	if err != nil {
		t.Fatalf("generate %s: %v", name, err)
	}
	if len(dek.Plaintext) != 32 || len(dek.Ciphertext) != 32+16+28 {
		t.Fatalf("generate %s: %d-byte plaintext, %d-byte ciphertext; want 32 and 76", name, len(dek.Plaintext), len(dek.Ciphertext))
	}
	pt, err := c.Decrypt(ctx, name, dek.Ciphertext, assoc)
	if err != nil || !bytes.Equal(pt, dek.Plaintext) {
		t.Fatalf("decrypt %s: %v (plaintext equal: %v)", name, err, bytes.Equal(pt, dek.Plaintext))
	}
	if _, err := c.Decrypt(ctx, name, dek.Ciphertext, []byte("another context")); !errors.Is(err, kes.ErrDecrypt) {
		t.Errorf("decrypt %s with the wrong context: err = %v, want kes.ErrDecrypt", name, err)
	}
	bad := bytes.Clone(dek.Ciphertext)
	bad[3] ^= 1
	if _, err := c.Decrypt(ctx, name, bad, assoc); !errors.Is(err, kes.ErrDecrypt) {
		t.Errorf("decrypt %s of a tampered ciphertext: err = %v, want kes.ErrDecrypt", name, err)
	}
	return dek
}

// guideKVEntry checks that data is a KV entry as real KES writes it: one field named after
// the key whose value is the base64 text of the key record.
func guideKVEntry(t *testing.T, where, name string, data map[string]any) {
	t.Helper()
	if len(data) != 1 {
		t.Fatalf("%s: entry has %d fields (%v), want only %q", where, len(data), data, name)
	}
	v, ok := data[name].(string)
	if !ok {
		t.Fatalf("%s: entry has no string field %q: %v", where, name, data)
	}
	if b, err := base64.StdEncoding.DecodeString(v); err != nil || len(b) < 32 {
		t.Fatalf("%s: field %q is not a base64 key record (%d bytes, %v)", where, name, len(b), err)
	}
}

// guideRace creates name from n goroutines at once and returns how many succeeded and the
// answers that were neither success nor kes.ErrKeyExists.
func guideRace(t *testing.T, c *kes.Client, name string, n int) (won int, bad []error) {
	t.Helper()
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			errs <- c.CreateKey(t.Context(), name)
		}()
	}
	close(start)
	for range n {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, kes.ErrKeyExists):
			bad = append(bad, err)
		}
	}
	return won, bad
}

// TestGuideKESDevMinIO is the guide's step 4.3 on a dev appliance, which has done steps
// 4.1-4.2 already: the MinIO identity, its policy and minio-key-1.
func TestGuideKESDevMinIO(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	ctx := t.Context()
	pool := guidePool(t, a.CAFile())
	minio := guideKES(a.URL("kes"), pool, guideTLSCert(t, filepath.Join(dir, "certs", "minio")))
	admin := guideKES(a.URL("kes"), pool, guideTLSCert(t, filepath.Join(dir, "certs", "admin")))
	minioID, err := certs.IdentityOfPEM(mustRead(t, filepath.Join(dir, "certs", "minio.crt")))
	if err != nil {
		t.Fatal(err)
	}

	// kes key create minio-key-1 -k: dev made it already.
	if err := minio.CreateKey(ctx, "minio-key-1"); !errors.Is(err, kes.ErrKeyExists) {
		t.Fatalf("MinIO creates minio-key-1: err = %v, want kes.ErrKeyExists", err)
	}
	if err := minio.CreateKey(ctx, "minio-key-2"); err != nil {
		t.Fatalf("MinIO creates minio-key-2: %v", err)
	}
	if err := minio.CreateKey(ctx, "my-key-1"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Fatalf("MinIO creates my-key-1: err = %v, want kes.ErrNotAllowed", err)
	}
	guideRoundTrip(t, minio, "minio-key-1")
	dek := guideRoundTrip(t, minio, "minio-key-2")

	// The MinIO policy is create/generate/decrypt of minio-* and nothing else.
	if _, err := minio.DescribeKey(ctx, "minio-key-2"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Errorf("MinIO describes a key: err = %v, want kes.ErrNotAllowed", err)
	}
	if _, _, err := minio.ListKeys(ctx, "", 0); !errors.Is(err, kes.ErrNotAllowed) {
		t.Errorf("MinIO lists keys: err = %v, want kes.ErrNotAllowed", err)
	}
	if err := minio.DeleteKey(ctx, "minio-key-2"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Errorf("MinIO deletes a key: err = %v, want kes.ErrNotAllowed", err)
	}
	if _, err := minio.GenerateKey(ctx, "my-key-1", nil); !errors.Is(err, kes.ErrNotAllowed) {
		t.Errorf("MinIO generates under my-key-1: err = %v, want kes.ErrNotAllowed", err)
	}

	// The admin identity (certs/admin.crt) may do everything.
	// "minio": KES (and kmsbox) refuse the pattern "minio-" like the key name "minio-".
	names, _, err := admin.ListKeys(ctx, "minio", 0)
	if err != nil || !slices.Contains(names, "minio-key-1") || !slices.Contains(names, "minio-key-2") || slices.Contains(names, "my-key-1") {
		t.Fatalf("admin lists minio-*: %v, %v", names, err)
	}
	info, err := admin.DescribeKey(ctx, "minio-key-2")
	if err != nil || info.Name != "minio-key-2" || info.CreatedBy.String() != minioID || info.CreatedAt.IsZero() {
		t.Fatalf("admin describes minio-key-2 = %+v, %v; want created by %s", info, err, minioID)
	}
	if err := admin.CreateKey(ctx, "my-key-1"); err != nil {
		t.Fatalf("admin creates my-key-1: %v", err)
	}
	admDEK, err := admin.GenerateKey(ctx, "minio-key-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := minio.Decrypt(ctx, "minio-key-1", admDEK.Ciphertext, nil); err != nil || !bytes.Equal(pt, admDEK.Plaintext) {
		t.Fatalf("MinIO decrypts the admin's data key: %v", err)
	}
	if err := admin.DeleteKey(ctx, "minio-key-2"); err != nil {
		t.Fatalf("admin deletes minio-key-2: %v", err)
	}
	if _, err := admin.DescribeKey(ctx, "minio-key-2"); !errors.Is(err, kes.ErrKeyNotFound) {
		t.Errorf("describe a deleted key: err = %v, want kes.ErrKeyNotFound", err)
	}
	if _, err := minio.Decrypt(ctx, "minio-key-2", dek.Ciphertext, nil); !errors.Is(err, kes.ErrKeyNotFound) {
		t.Errorf("decrypt under a deleted key: err = %v, want kes.ErrKeyNotFound", err)
	}

	// A fresh self-signed identity is in no policy.
	stranger, _ := guideIdentity(t, t.TempDir(), "stranger")
	sc := guideKES(a.URL("kes"), pool, stranger)
	if err := sc.CreateKey(ctx, "minio-key-3"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Errorf("unknown identity creates a key: err = %v, want kes.ErrNotAllowed", err)
	}
	if _, err := sc.GenerateKey(ctx, "minio-key-1", nil); !errors.Is(err, kes.ErrNotAllowed) {
		t.Errorf("unknown identity generates: err = %v, want kes.ErrNotAllowed", err)
	}

	// Concurrent creates of one name: exactly one wins.
	if won, bad := guideRace(t, admin, "minio-race", 16); won != 1 || len(bad) > 0 {
		t.Errorf("16 concurrent creates of minio-race: %d succeeded, want exactly 1; other answers than kes.ErrKeyExists: %v", won, bad)
	}
	// No client certificate: the mTLS handshake (or the request) fails.
	if err := guideKES(a.URL("kes"), pool, tls.Certificate{}).CreateKey(ctx, "minio-key-4"); err == nil {
		t.Error("create without a client certificate succeeded")
	}

	// The keys sit in the vault's kes/ mount as real KES keeps them.
	root := guideVault(t, a, envValue(mustRead(t, EnvFile(dir)), "VAULT_TOKEN"))
	l, err := root.Logical().List("kes/")
	if err != nil || l == nil {
		t.Fatalf("vault list kes/: %v, %v", l, err)
	}
	if !guideHas(l.Data["keys"], "minio-key-1") || !guideHas(l.Data["keys"], "my-key-1") || guideHas(l.Data["keys"], "minio-key-2") {
		t.Errorf("vault list kes/ = %v, want minio-key-1 and my-key-1 but not the deleted minio-key-2", l.Data["keys"])
	}
	e, err := root.Logical().Read("kes/minio-key-1")
	if err != nil || e == nil {
		t.Fatalf("vault read kes/minio-key-1: %v, %v", e, err)
	}
	guideKVEntry(t, "kes/minio-key-1", "minio-key-1", e.Data)
}

// TestGuideKESSealedVault seals the vault under KES: KES reports not ready and its key
// operations fail with its key store error, until the vault is unsealed; a restart keeps
// the keys.
func TestGuideKESSealedVault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, stop := startAppliance(t, Config{DataDir: dir})
	ctx := t.Context()
	adminCert := guideTLSCert(t, filepath.Join(dir, "certs", "admin"))
	admin := guideKES(a.URL("kes"), guidePool(t, a.CAFile()), adminCert)

	// An uninitialized vault is not reachable, as KES reports one.
	if ok, err := admin.IsReady(ctx); ok || guideKESCode(err) != http.StatusGatewayTimeout || err.Error() != "key store is not reachable" {
		t.Errorf("KES ready before init = %v, %v; want not ready, 504 key store is not reachable", ok, err)
	}
	c := guideVault(t, a, "")
	res := guideInit(t, c, 3, 2)
	guideUnseal(t, c, res.KeysB64[0], res.KeysB64[1])
	root := guideVault(t, a, res.RootToken)

	if ok, err := admin.IsReady(ctx); !ok || err != nil {
		t.Fatalf("KES ready after unseal = %v, %v", ok, err)
	}
	if err := admin.CreateKey(ctx, "sealed-key"); err != nil {
		t.Fatalf("admin creates sealed-key: %v", err)
	}
	dek, err := admin.GenerateKey(ctx, "sealed-key", []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}

	if err := root.Sys().Seal(); err != nil {
		t.Fatalf("vault operator seal: %v", err)
	}
	// The seal is an emergency stop: a key KES has in its cache stops working at once,
	// before any readiness probe.
	if _, err := admin.Decrypt(ctx, "sealed-key", dek.Ciphertext, []byte("ctx")); guideKESCode(err) < 500 {
		t.Errorf("decrypt right after the seal (key cached): err = %v, want KES's 5xx key store error", err)
	}
	ok, err := admin.IsReady(ctx)
	if ok || guideKESCode(err) != http.StatusGatewayTimeout || err.Error() != "key store is not reachable" {
		t.Errorf("KES ready while sealed = %v, %v; want not ready, 504 key store is not reachable (as KES)", ok, err)
	}
	st, err := admin.Status(ctx)
	if err != nil {
		t.Fatalf("KES status while sealed: %v", err)
	}
	if st.KeystoreAvailable || st.KeyStoreLatency != 0 {
		t.Errorf("KES status while sealed: available %v, latency %v; want the store down", st.KeystoreAvailable, st.KeyStoreLatency)
	}
	hc := caClient(t, a.CAFile(), adminCert)
	if code := getStatus(t, hc, a.URL("s3")+"/minio/health/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("S3 ready while sealed = %d, want 503", code)
	}
	for op, f := range map[string]func() error{
		"decrypt":  func() error { _, err := admin.Decrypt(ctx, "sealed-key", dek.Ciphertext, []byte("ctx")); return err },
		"generate": func() error { _, err := admin.GenerateKey(ctx, "sealed-key", nil); return err },
		"describe": func() error { _, err := admin.DescribeKey(ctx, "sealed-key"); return err },
		"create":   func() error { return admin.CreateKey(ctx, "sealed-key-2") },
		"list":     func() error { _, _, err := admin.ListKeys(ctx, "", 0); return err },
		"delete":   func() error { return admin.DeleteKey(ctx, "sealed-key") },
	} {
		if err := f(); guideKESCode(err) != http.StatusBadGateway && guideKESCode(err) != http.StatusServiceUnavailable {
			t.Errorf("%s while sealed: err = %v (status %d), want KES's 502/503 key store error", op, err, guideKESCode(err))
		}
	}

	guideUnseal(t, c, res.KeysB64[2], res.KeysB64[0])
	if ok, err := admin.IsReady(ctx); !ok || err != nil {
		t.Fatalf("KES ready after unseal = %v, %v", ok, err)
	}
	if st, err := admin.Status(ctx); err != nil || !st.KeystoreAvailable || st.KeyStoreLatency <= 0 {
		t.Errorf("KES status after unseal = %+v, %v", st, err)
	}
	if pt, err := admin.Decrypt(ctx, "sealed-key", dek.Ciphertext, []byte("ctx")); err != nil || !bytes.Equal(pt, dek.Plaintext) {
		t.Fatalf("decrypt after unseal: %v", err)
	}
	if names, _, err := admin.ListKeys(ctx, "", 0); err != nil || !slices.Equal(names, []string{"sealed-key"}) {
		t.Errorf("list after unseal = %v, %v; want [sealed-key] (nothing created or deleted while sealed)", names, err)
	}

	// A restart keeps the keys; they are usable once the vault is unsealed again.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	b, _ := startAppliance(t, Config{DataDir: dir})
	admin = guideKES(b.URL("kes"), guidePool(t, b.CAFile()), adminCert)
	if ok, _ := admin.IsReady(ctx); ok {
		t.Error("KES ready after restart while the vault is sealed")
	}
	c = guideVault(t, b, "")
	guideUnseal(t, c, res.KeysB64[1], res.KeysB64[2])
	if pt, err := admin.Decrypt(ctx, "sealed-key", dek.Ciphertext, []byte("ctx")); err != nil || !bytes.Equal(pt, dek.Plaintext) {
		t.Fatalf("decrypt after restart and unseal: %v", err)
	}
	if err := admin.CreateKey(ctx, "sealed-key"); !errors.Is(err, kes.ErrKeyExists) {
		t.Errorf("create sealed-key after restart: err = %v, want kes.ErrKeyExists", err)
	}
}

// guideConfigVars are the values the guide has the user paste into the KES config.
type guideConfigVars struct {
	TLSKey, TLSCert   string
	Identity          string
	VaultURL, VaultCA string
	RoleID, SecretID  string
}

// TestGuideKESConfigOwnVault runs KES with the guide's TOML config whose key store is the
// appliance's own Vault API: keys land at kv/minio/<name>, where `vault kv list kv/minio`
// shows them, as in the guide.
func TestGuideKESConfigOwnVault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vaultAddr := testutil.FreeAddr(t)
	ctx := t.Context()

	// Step 3: the Vault part, on a production-like appliance.
	a, stop := startAppliance(t, Config{DataDir: dir, VaultAddr: vaultAddr, KESAddr: "127.0.0.1:0", S3Addr: "127.0.0.1:0"})
	c := guideVault(t, a, "")
	res := guideInit(t, c, 5, 3)
	guideUnseal(t, c, res.KeysB64[:3]...)
	root := guideVault(t, a, res.RootToken)
	roleID, secretID := guideAppRole(t, root, "kv", "", "minio-key-policy.hcl", "kes-role")
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// Step 4: the MinIO identity, the KES server certificate and the config file.
	work := t.TempDir()
	minioCert, minioID := guideIdentity(t, work, "minio")
	tlsCert, tlsKey := guideServerCert(t, work)
	file := guideTemplate(t, work, "kes-config.toml", guideConfigVars{
		TLSKey: tlsKey, TLSCert: tlsCert, Identity: minioID,
		VaultURL: "https://" + vaultAddr, VaultCA: a.CAFile(),
		RoleID: roleID, SecretID: secretID,
	})
	conf, err := kesconf.ReadFile(file)
	if err != nil {
		t.Fatalf("kesconf.ReadFile(%s): %v", file, err)
	}
	b, _ := startAppliance(t, Config{DataDir: dir, VaultAddr: vaultAddr, KESAddr: "127.0.0.1:0", S3Addr: "127.0.0.1:0", KESConfig: conf})
	c = guideVault(t, b, "")
	guideUnseal(t, c, res.KeysB64[2], res.KeysB64[3], res.KeysB64[4])
	root = guideVault(t, b, res.RootToken)

	// The KES listener presents the config's certificate: trust only it, as the guide's -k does.
	minio := guideKES(b.URL("kes"), guidePool(t, tlsCert), minioCert)
	if err := minio.CreateKey(ctx, "minio-key-1"); err != nil {
		t.Fatalf("kes key create minio-key-1: %v", err)
	}
	if err := minio.CreateKey(ctx, "minio-key-1"); !errors.Is(err, kes.ErrKeyExists) {
		t.Errorf("second create: err = %v, want kes.ErrKeyExists", err)
	}
	if err := minio.CreateKey(ctx, "my-key-1"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Errorf("create my-key-1: err = %v, want kes.ErrNotAllowed", err)
	}
	guideRoundTrip(t, minio, "minio-key-1")
	// root = "disabled": kmsbox's own admin identity has no rights under this config.
	admin := guideKES(b.URL("kes"), guidePool(t, tlsCert), guideTLSCert(t, filepath.Join(dir, "certs", "admin")))
	if _, _, err := admin.ListKeys(ctx, "", 0); !errors.Is(err, kes.ErrNotAllowed) {
		t.Errorf("admin.crt lists keys with root disabled: err = %v, want kes.ErrNotAllowed", err)
	}

	// `kmsbox health` (the Docker HEALTHCHECK) answers ok for this appliance, which serves
	// KES with the guide's own certificate.
	if err := Health(ctx, HealthConfig{DataDir: dir, VaultAddr: b.Addr("vault"), KESAddr: b.Addr("kes"), S3Addr: b.Addr("s3")}); err != nil {
		t.Errorf("kmsbox health with the guide's KES config: %v", err)
	}

	// vault kv list kv/minio
	l, err := root.Logical().List("kv/minio")
	if err != nil || l == nil || !guideHas(l.Data["keys"], "minio-key-1") {
		t.Fatalf("vault kv list kv/minio = %v, %v; want minio-key-1", l, err)
	}
	e, err := root.Logical().Read("kv/minio/minio-key-1")
	if err != nil || e == nil {
		t.Fatalf("vault kv get kv/minio/minio-key-1: %v, %v", e, err)
	}
	guideKVEntry(t, "kv/minio/minio-key-1", "minio-key-1", e.Data)
	if l, err := root.Logical().List("kes/"); err != nil || (l != nil && guideHas(l.Data["keys"], "minio-key-1")) {
		t.Errorf("the key also landed in kes/: %v, %v", l, err)
	}
	// A K/V v2 key store on the own vault is refused with an error naming the setting (the
	// in-process store speaks v1).
	v2Addr := testutil.FreeAddr(t)
	v2file := guideTemplate(t, work, "kes-remote-v2.yaml", guideConfigVars{
		Identity: minioID, VaultURL: "https://" + v2Addr, VaultCA: a.CAFile(), RoleID: roleID, SecretID: secretID,
	})
	v2conf, err := kesconf.ReadFile(v2file)
	if err != nil {
		t.Fatal(err)
	}
	if a2, err := Open(ctx, Config{DataDir: t.TempDir(), VaultAddr: v2Addr, KESAddr: "127.0.0.1:0", KESConfig: v2conf}); err == nil {
		a2.closeState()
		t.Error("KV v2 key store on the own vault: Open succeeded")
	} else if !strings.Contains(err.Error(), "keystore.vault.version") {
		t.Errorf("KV v2 key store on the own vault: error %q does not name keystore.vault.version", err)
	}

	// The guide's AppRole (what a real KES would log in with) reads the entry too.
	app, _ := guideLogin(t, c, roleID, secretID)
	if e, err := app.Logical().Read("kv/minio/minio-key-1"); err != nil || e == nil {
		t.Errorf("kes-role reads kv/minio/minio-key-1: %v, %v", e, err)
	}
}

// TestGuideKESRemoteVault points the KES of one appliance at the Vault API of another over
// HTTPS with AppRole, as a KES config with keystore.vault does, with K/V v1 (the guide's
// TOML) and v2 (the current YAML).
func TestGuideKESRemoteVault(t *testing.T) {
	t.Parallel()
	remoteDir, remoteAddr := t.TempDir(), testutil.FreeAddr(t)
	remote, stopRemote := startAppliance(t, Config{DataDir: remoteDir, VaultAddr: remoteAddr})
	rc := guideVault(t, remote, "")
	res := guideInit(t, rc, 1, 1)
	guideUnseal(t, rc, res.KeysB64[0])
	rroot := guideVault(t, remote, res.RootToken)
	id1, secret1 := guideAppRole(t, rroot, "kv", "", "kes-policy-v1.hcl", "kes-role")
	id2, secret2 := guideAppRole(t, rroot, "kvv2", "2", "kes-policy-v2.hcl", "kes-role-v2")

	// Wrong AppRole credentials, or a sealed remote vault, stop the start with an error that
	// names the key store, as real KES refuses to start when its first login fails.
	badDir := t.TempDir()
	_, badID := guideIdentity(t, badDir, "minio")
	for _, bad := range []struct {
		name, secret string
		sealed       bool
	}{
		{"wrong secret ID", "6f8a7c2e-0000-4000-8000-000000000000", false},
		{"sealed remote vault", secret1, true},
	} {
		file := guideTemplate(t, badDir, "kes-remote-v1.toml", guideConfigVars{
			Identity: badID, VaultURL: remote.URL("vault"), VaultCA: remote.CAFile(),
			RoleID: id1, SecretID: bad.secret,
		})
		conf, err := kesconf.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if bad.sealed {
			if err := rroot.Sys().Seal(); err != nil {
				t.Fatal(err)
			}
		}
		a, err := Open(t.Context(), Config{DataDir: badDir, VaultAddr: "127.0.0.1:0", KESAddr: "127.0.0.1:0", KESConfig: conf})
		if err == nil {
			a.closeState()
			t.Errorf("%s: Open succeeded", bad.name)
		} else if !strings.Contains(err.Error(), "keystore.vault") || !strings.Contains(err.Error(), remote.URL("vault")) {
			t.Errorf("%s: Open error %q does not name keystore.vault and the endpoint", bad.name, err)
		}
		if bad.sealed {
			guideUnseal(t, rc, res.KeysB64[0])
		}
	}

	for _, tc := range []struct {
		name, file       string
		roleID, secretID string
		entry            func(*vaultapi.Client, string) (map[string]any, error)
	}{
		{"kv-v1-toml", "kes-remote-v1.toml", id1, secret1, func(c *vaultapi.Client, name string) (map[string]any, error) {
			s, err := c.Logical().Read("kv/minio/" + name)
			if s == nil {
				return nil, err
			}
			return s.Data, err
		}},
		{"kv-v2-yaml", "kes-remote-v2.yaml", id2, secret2, func(c *vaultapi.Client, name string) (map[string]any, error) {
			s, err := c.Logical().Read("kvv2/data/minio/" + name)
			if s == nil {
				return nil, err
			}
			data, _ := s.Data["data"].(map[string]any)
			return data, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			cert, id := guideIdentity(t, dir, "minio")
			file := guideTemplate(t, dir, tc.file, guideConfigVars{
				Identity: id, VaultURL: remote.URL("vault"), VaultCA: remote.CAFile(),
				RoleID: tc.roleID, SecretID: tc.secretID,
			})
			conf, err := kesconf.ReadFile(file)
			if err != nil {
				t.Fatalf("kesconf.ReadFile: %v", err)
			}
			a, _ := startAppliance(t, Config{DataDir: dir, KESConfig: conf})
			k := guideKES(a.URL("kes"), guidePool(t, a.CAFile()), cert)

			if ok, err := k.IsReady(ctx); !ok || err != nil {
				t.Fatalf("KES ready on the remote vault = %v, %v", ok, err)
			}
			if err := k.CreateKey(ctx, "minio-remote-1"); err != nil {
				t.Fatalf("create: %v", err)
			}
			if err := k.CreateKey(ctx, "minio-remote-1"); !errors.Is(err, kes.ErrKeyExists) {
				t.Errorf("second create: err = %v, want kes.ErrKeyExists", err)
			}
			dek := guideRoundTrip(t, k, "minio-remote-1")
			if names, _, err := k.ListKeys(ctx, "minio", 0); err != nil || !slices.Equal(names, []string{"minio-remote-1"}) {
				t.Errorf("list = %v, %v; want [minio-remote-1]", names, err)
			}
			data, err := tc.entry(rroot, "minio-remote-1")
			if err != nil || data == nil {
				t.Fatalf("the entry in the remote vault: %v, %v", data, err)
			}
			guideKVEntry(t, "remote "+tc.file, "minio-remote-1", data)

			// Seal the remote vault: this KES is not ready and cannot reach its keys.
			if err := rroot.Sys().Seal(); err != nil {
				t.Fatal(err)
			}
			if ok, err := k.IsReady(ctx); ok || guideKESCode(err) < 500 {
				t.Errorf("KES ready with the remote vault sealed = %v, %v; want a 5xx", ok, err)
			}
			if _, err := k.Decrypt(ctx, "minio-remote-1", dek.Ciphertext, nil); guideKESCode(err) < 500 {
				t.Errorf("decrypt with the remote vault sealed: err = %v, want a 5xx key store error", err)
			}
			hc := caClient(t, a.CAFile())
			if code := getStatus(t, hc, a.URL("s3")+"/minio/health/ready"); code != http.StatusServiceUnavailable {
				t.Errorf("S3 ready with the remote vault sealed = %d, want 503", code)
			}
			guideUnseal(t, rc, res.KeysB64[0])
			if ok, err := k.IsReady(ctx); !ok || err != nil {
				t.Fatalf("KES ready after the remote unseal = %v, %v", ok, err)
			}
			if _, err := k.GenerateKey(ctx, "minio-remote-1", nil); err != nil {
				t.Errorf("generate after the remote unseal: %v", err)
			}

			if err := k.DeleteKey(ctx, "minio-remote-1"); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if _, err := k.DescribeKey(ctx, "minio-remote-1"); !errors.Is(err, kes.ErrKeyNotFound) {
				t.Errorf("describe after delete: err = %v, want kes.ErrKeyNotFound", err)
			}
			if data, err := tc.entry(rroot, "minio-remote-1"); err != nil || data != nil {
				t.Errorf("the remote entry after delete = %v, %v; want gone", data, err)
			}

			// MinIO nodes starting together all create the default key at once: one wins, the
			// others get kes.ErrKeyExists (which MinIO accepts), never a 5xx. The AppRole policy
			// grants "create" but not "update", as the guide's and KES's documented ones do.
			var races, wins int
			var bad []error
			for i := range 30 {
				won, b := guideRace(t, k, fmt.Sprintf("minio-race-%d", i), 8)
				races++
				if won == 1 {
					wins++
				}
				bad = append(bad, b...)
			}
			if wins != races || len(bad) > 0 {
				t.Errorf("30 x 8 concurrent creates: %d of %d had exactly one winner; %d answers other than kes.ErrKeyExists, e.g. %v",
					wins, races, len(bad), bad[:min(len(bad), 1)])
			}
			if _, err := k.GenerateKey(ctx, "minio-race-0", nil); err != nil {
				t.Errorf("generate under a raced key: %v", err)
			}
		})
	}

	// The remote vault goes away (unreachable), comes back sealed (unavailable), is unsealed:
	// KES follows, and its AppRole token survives the remote restart.
	dir := t.TempDir()
	cert, id := guideIdentity(t, dir, "minio")
	conf, err := kesconf.ReadFile(guideTemplate(t, dir, "kes-remote-v1.toml", guideConfigVars{
		Identity: id, VaultURL: remote.URL("vault"), VaultCA: remote.CAFile(), RoleID: id1, SecretID: secret1,
	}))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := startAppliance(t, Config{DataDir: dir, KESConfig: conf})
	k := guideKES(a.URL("kes"), guidePool(t, a.CAFile()), cert)
	ctx := t.Context()
	if err := k.CreateKey(ctx, "minio-restart"); err != nil {
		t.Fatal(err)
	}
	dek, err := k.GenerateKey(ctx, "minio-restart", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := stopRemote(); err != nil {
		t.Fatal(err)
	}
	ok, err := k.IsReady(ctx)
	if ok || guideKESCode(err) != http.StatusGatewayTimeout || err.Error() != "key store is not reachable" {
		t.Errorf("KES ready with the remote vault down = %v, %v; want 504 key store is not reachable", ok, err)
	}
	if st, err := k.Status(ctx); err != nil || st.KeyStoreReachable || st.KeystoreAvailable {
		t.Errorf("KES status with the remote vault down = %+v, %v; want unreachable", st, err)
	}
	if _, err := k.Decrypt(ctx, "minio-restart", dek.Ciphertext, nil); guideKESCode(err) < 500 {
		t.Errorf("decrypt with the remote vault down: err = %v, want a 5xx", err)
	}
	startAppliance(t, Config{DataDir: remoteDir, VaultAddr: remoteAddr})
	if ok, err := k.IsReady(ctx); ok || guideKESCode(err) != http.StatusGatewayTimeout || err.Error() != "key store is not reachable" {
		t.Errorf("KES ready with the remote vault back but sealed = %v, %v; want 504 key store is not reachable (as KES)", ok, err)
	}
	guideUnseal(t, rc, res.KeysB64[0])
	if ok, err := k.IsReady(ctx); !ok || err != nil {
		t.Fatalf("KES ready after the remote restart and unseal = %v, %v", ok, err)
	}
	if pt, err := k.Decrypt(ctx, "minio-restart", dek.Ciphertext, nil); err != nil || !bytes.Equal(pt, dek.Plaintext) {
		t.Errorf("decrypt after the remote restart: %v", err)
	}
}

// TestGuideKESDevWithGuideConfig starts `kmsbox server --dev --kes-config kes-config.toml`
// with the guide's config naming the appliance's own vault. Dev mode does the guide's setup,
// so either the dev key minio-key-1 is usable by the config's MinIO identity (it lives at
// kv/minio/ as the config says), or the start is refused with an error naming the setting:
// never a running appliance whose default key can neither be created nor read.
func TestGuideKESDevWithGuideConfig(t *testing.T) {
	t.Parallel()
	dir, work := t.TempDir(), t.TempDir()
	vaultAddr := testutil.FreeAddr(t)
	minioCert, minioID := guideIdentity(t, work, "minio")
	tlsCert, tlsKey := guideServerCert(t, work)
	file := guideTemplate(t, work, "kes-config.toml", guideConfigVars{
		TLSKey: tlsKey, TLSCert: tlsCert, Identity: minioID,
		VaultURL: "https://" + vaultAddr, VaultCA: filepath.Join(dir, "certs", "ca.crt"),
		RoleID: "unused-in-process", SecretID: "unused-in-process",
	})
	conf, err := kesconf.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Open(t.Context(), Config{DataDir: dir, Dev: true, VaultAddr: vaultAddr, KESAddr: "127.0.0.1:0", S3Addr: "127.0.0.1:0", KESConfig: conf})
	if err != nil {
		if !strings.Contains(err.Error(), "--kes-config") && !strings.Contains(err.Error(), "--dev") {
			t.Fatalf("--dev with the guide's KES config refused with an unclear error: %v", err)
		}
		return
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	minio := guideKES(a.URL("kes"), guidePool(t, tlsCert), minioCert)
	if _, err := minio.GenerateKey(t.Context(), "minio-key-1", nil); err != nil {
		t.Fatalf("--dev --kes-config kes-config.toml: MinIO generates under the dev key minio-key-1: %v", err)
	}
	root := guideVault(t, a, envValue(mustRead(t, EnvFile(dir)), "VAULT_TOKEN"))
	if l, err := root.Logical().List("kv/minio"); err != nil || l == nil || !guideHas(l.Data["keys"], "minio-key-1") {
		t.Errorf("vault kv list kv/minio = %v, %v; want minio-key-1", l, err)
	}
}
