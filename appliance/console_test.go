package appliance

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/s3lite"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// consoleChain is the part of the console's /api/v1/chain answer these tests read.
type consoleChain struct {
	Object struct {
		Key, Encryption, KeyID string
	}
	SealedObjectKey, SealAlgorithm    string
	DataKeyCiphertext, DataKeyContext string
	DataKey, MasterKeyCheck           struct {
		OK  bool
		Err string
	}
	MasterKey struct{ Name, Location string }
	Vault     struct {
		Initialized, Sealed bool
		StorageFile, Mount  string
	}
}

// consoleLogin logs in to the console of a with the S3 credentials and returns a client
// holding the session.
func consoleLogin(t *testing.T, a *Appliance, access, secret string) *http.Client {
	t.Helper()
	c := caClient(t, a.CAFile())
	c.Jar, _ = cookiejar.New(nil)
	resp, err := c.PostForm(a.URL("console")+"/login", url.Values{"accessKey": {access}, "secretKey": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("login as %s: %s at %s, want 200 at / (after the 303)", access, resp.Status, resp.Request.URL)
	}
	return c
}

func consoleGet(t *testing.T, c *http.Client, u string, v any) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
	return resp.StatusCode
}

// TestConsoleChain follows real objects through the console's API down the chain of the
// dev appliance — object key, data key, master key, vault — then breaks the chain twice:
// by deleting a master key (crypto-shredding) and by sealing the vault.
func TestConsoleChain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true, ConsoleAddr: "127.0.0.1:0"})
	env := mustRead(t, EnvFile(dir))
	access, secret := envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY")
	if !strings.Contains(envValue(env, "AWS_ENDPOINT_URL"), a.Addr("s3")) {
		t.Fatalf("env file and appliance disagree on the S3 address")
	}
	ctx := context.Background()
	mc := minioClient(t, a, access, secret)

	// A second master key, made through KES's own API as an admin would, for SSE-KMS.
	admin, err := tls.LoadX509KeyPair(filepath.Join(dir, "certs", "admin.crt"), filepath.Join(dir, "certs", "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	kes := caClient(t, a.CAFile(), admin)
	kesDo := func(method, path string) {
		t.Helper()
		req, _ := http.NewRequest(method, a.URL("kes")+path, nil)
		resp, err := kes.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("KES %s %s: %v %v", method, path, resp, err)
		}
		resp.Body.Close()
	}
	kesDo(http.MethodPost, "/v1/key/create/minio-shred")

	if err := mc.MakeBucket(ctx, "chain", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	kms, _ := encrypt.NewSSEKMS("minio-shred", nil)
	ssec, _ := encrypt.NewSSEC(bytes.Repeat([]byte{9}, 32))
	for key, sse := range map[string]encrypt.ServerSide{"auto.txt": nil, "shred.txt": kms, "customer.txt": ssec} {
		if _, err := mc.PutObject(ctx, "chain", key, strings.NewReader("payload "+key), -1, minio.PutObjectOptions{ServerSideEncryption: sse}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}

	// Wrong credentials get no session.
	bad := caClient(t, a.CAFile())
	bad.Jar, _ = cookiejar.New(nil)
	resp, err := bad.PostForm(a.URL("console")+"/login", url.Values{"accessKey": {access}, "secretKey": {secret + "x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login with a wrong secret: %s, want 401", resp.Status)
	}
	if code := consoleGet(t, bad, a.URL("console")+"/api/v1/status", nil); code != http.StatusUnauthorized {
		t.Fatalf("status without a session: %d, want 401", code)
	}

	c := consoleLogin(t, a, access, secret)
	base := a.URL("console") + "/api/v1"

	var st struct {
		S3 struct {
			KMS, DefaultKey string
			AutoEncrypt     bool
			Ready           struct{ OK bool }
			Buckets         []struct{ Name string }
		}
		KES struct {
			Ready struct{ OK bool }
			Keys  []struct{ Name, Location string }
		}
		Vault struct {
			Initialized, Sealed bool
			Shares, Threshold   int
			StorageFile, Mount  string
		}
	}
	if code := consoleGet(t, c, base+"/status", &st); code != http.StatusOK {
		t.Fatalf("status: %d", code)
	}
	if st.S3.KMS != "kmsbox KES (in-process)" || st.S3.DefaultKey != "minio-key-1" || !st.S3.AutoEncrypt || !st.S3.Ready.OK ||
		len(st.S3.Buckets) != 1 || st.S3.Buckets[0].Name != "chain" {
		t.Errorf("status.s3 = %+v", st.S3)
	}
	if !st.KES.Ready.OK || len(st.KES.Keys) != 2 || st.KES.Keys[0].Name != "minio-key-1" || st.KES.Keys[0].Location != "embedded vault, KV v1 kes/minio-key-1" {
		t.Errorf("status.kes = %+v", st.KES)
	}
	if !st.Vault.Initialized || st.Vault.Sealed || st.Vault.Shares != 1 || st.Vault.Threshold != 1 ||
		st.Vault.StorageFile != filepath.Join(dir, "vault.db") || st.Vault.Mount != "kes/" {
		t.Errorf("status.vault = %+v", st.Vault)
	}

	chain := func(key string) consoleChain {
		t.Helper()
		var ch consoleChain
		if code := consoleGet(t, c, base+"/chain/chain/"+key, &ch); code != http.StatusOK {
			t.Fatalf("chain of %s: %d", key, code)
		}
		return ch
	}
	auto := chain("auto.txt")
	if auto.Object.Encryption != "SSE-S3" || auto.Object.KeyID != "minio-key-1" || auto.SealAlgorithm == "" || len(auto.SealedObjectKey) != 128 ||
		auto.DataKeyCiphertext == "" || !strings.Contains(auto.DataKeyContext, `"chain/auto.txt"`) ||
		!auto.DataKey.OK || !auto.MasterKeyCheck.OK || auto.MasterKey.Location != "embedded vault, KV v1 kes/minio-key-1" ||
		!auto.Vault.Initialized || auto.Vault.Sealed {
		t.Errorf("chain of auto.txt = %+v", auto)
	}
	if cust := chain("customer.txt"); cust.Object.Encryption != "SSE-C" || cust.SealedObjectKey == "" || cust.DataKeyCiphertext != "" || cust.MasterKey.Name != "" {
		t.Errorf("chain of customer.txt = %+v, want it to end at the sealed object key", cust)
	}
	if shred := chain("shred.txt"); !shred.DataKey.OK || shred.MasterKey.Name != "minio-shred" {
		t.Errorf("chain of shred.txt before the key is deleted = %+v", shred)
	}
	if code := consoleGet(t, c, base+"/chain/chain/missing.txt", nil); code != http.StatusNotFound {
		t.Errorf("chain of a missing object: %d, want 404", code)
	}

	// Crypto-shredding: once its master key is gone, the object's chain is broken there.
	kesDo(http.MethodDelete, "/v1/key/delete/minio-shred")
	shred := chain("shred.txt")
	if shred.DataKey.OK || shred.MasterKeyCheck.OK || !strings.Contains(shred.MasterKeyCheck.Err, "does not exist") {
		t.Errorf("chain of shred.txt after the key was deleted = %+v", shred)
	}
	if again := chain("auto.txt"); !again.DataKey.OK {
		t.Errorf("deleting another key broke auto.txt: %+v", again)
	}

	// The emergency stop: sealing the vault breaks every chain at the data key.
	req, _ := http.NewRequest(http.MethodPut, a.URL("vault")+"/v1/sys/seal", nil)
	req.Header.Set("X-Vault-Token", envValue(env, "VAULT_TOKEN"))
	if resp, err := caClient(t, a.CAFile()).Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("seal: %v %v", resp, err)
	}
	sealed := chain("auto.txt")
	if sealed.DataKey.OK || !strings.Contains(sealed.DataKey.Err, "sealed") || sealed.MasterKeyCheck.OK || !sealed.Vault.Sealed {
		t.Errorf("chain of auto.txt with the vault sealed = %+v", sealed)
	}
	if code := consoleGet(t, c, base+"/status", &st); code != http.StatusOK || st.KES.Ready.OK || st.S3.Ready.OK || !st.Vault.Sealed || len(st.KES.Keys) != 0 {
		t.Errorf("status with the vault sealed: %d %+v", code, st)
	}
}

// With the guide's appendix B static key the chain ends at that key: there is no key
// server or vault below it to show, and the console says so instead of a red vault.
func TestConsoleChainStaticKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true, ConsoleAddr: "127.0.0.1:0", KMS: KMSConfig{StaticKey: "static-key:" + key}})
	env := mustRead(t, EnvFile(dir))
	access, secret := envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY")
	mc := minioClient(t, a, access, secret)
	ctx := context.Background()
	if err := mc.MakeBucket(ctx, "static", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.PutObject(ctx, "static", "o", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	c := consoleLogin(t, a, access, secret)
	var ch consoleChain
	if code := consoleGet(t, c, a.URL("console")+"/api/v1/chain/static/o", &ch); code != http.StatusOK {
		t.Fatalf("chain: %d", code)
	}
	if ch.Object.Encryption != "SSE-S3" || ch.MasterKey.Name != "static-key" || !strings.HasPrefix(ch.MasterKey.Location, "static key static-key") ||
		!ch.DataKey.OK || !ch.MasterKeyCheck.OK || ch.Vault.StorageFile != "" || ch.Vault.Initialized {
		t.Errorf("chain with a static key = %+v", ch)
	}
	resp, err := c.Get(a.URL("console") + "/objects/static/o")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(page, []byte(`id="chain-end"`)) || bytes.Contains(page, []byte(`id="link-vault"`)) || bytes.Contains(page, []byte("broken")) {
		t.Errorf("chain page with a static key: want the chain to end at the master key, all green:\n%s", page)
	}
}

// check gives every error a link can fail with its sentence, wrapped or not, and keeps
// the text of an error it does not know.
func TestConsoleCheck(t *testing.T) {
	t.Parallel()
	if c := check(nil); !c.OK || c.Err != "" {
		t.Errorf("check(nil) = %+v, want OK", c)
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{s3lite.ErrKMSKeyNotFound, "the master key does not exist"},
		{kescore.ErrKeyNotFound, "the master key does not exist"},
		{s3lite.ErrKMSUnavailable, "the key store is unavailable: is the vault sealed?"},
		{kescore.ErrStoreUnavailable, "the key store is unavailable: is the vault sealed?"},
		{kescore.ErrStoreUnreachable, "the key store is not reachable: is the vault sealed or down?"},
		{s3lite.ErrKMSNotAuthorized, "the identity lacks a policy for this key"},
		{s3lite.ErrKMSInvalidCiphertext, "the data key does not decrypt"},
		{kescore.ErrDecrypt, "the data key does not decrypt"},
		{s3lite.ErrTampered, "the sealed object key does not open with the data key"},
		{errors.New("kes: connection reset"), "kes: connection reset"},
	} {
		for _, err := range []error{c.err, fmt.Errorf("decrypt minio-key-1: %w", c.err)} {
			if got := check(err); got.OK || !strings.Contains(got.Err, c.want) {
				t.Errorf("check(%v) = %+v, want a broken link saying %q", err, got, c.want)
			}
		}
	}
}

// TestConsoleTransit checks issue 10 item 5: the overview lists every Transit engine and
// its keys by name, type and latest version, and nothing while the vault is sealed.
func TestConsoleTransit(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true, ConsoleAddr: "127.0.0.1:0"})
	env := mustRead(t, EnvFile(dir))
	root := guideVault(t, a, envValue(env, "VAULT_TOKEN"))
	if err := root.Sys().Mount("other", &vaultapi.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	for path, data := range map[string]map[string]any{
		"transit/keys/orders":                       {"type": "ed25519"},
		"transit/keys/" + devTransitKey + "/rotate": nil,
	} {
		if _, err := root.Logical().Write(path, data); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	c := consoleLogin(t, a, envValue(env, "AWS_ACCESS_KEY_ID"), envValue(env, "AWS_SECRET_ACCESS_KEY"))
	var raw struct {
		Vault struct {
			Transit json.RawMessage
		}
	}
	if code := consoleGet(t, c, a.URL("console")+"/api/v1/status", &raw); code != http.StatusOK {
		t.Fatalf("status: %d", code)
	}
	const want = `[{"path":"other/","keys":[]},{"path":"transit/","keys":[` +
		`{"name":"orders","type":"ed25519","latestVersion":1},` +
		`{"name":"transit-key-1","type":"aes256-gcm96","latestVersion":2}]}]`
	var got bytes.Buffer
	if err := json.Compact(&got, raw.Vault.Transit); err != nil || got.String() != want {
		t.Errorf("console transit =\n%s\nwant\n%s", got.String(), want)
	}
	resp, err := c.Get(a.URL("console") + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if row := `<td class="mono">transit/</td><td class="mono">transit-key-1</td><td class="mono">aes256-gcm96</td><td>2</td>`; !strings.Contains(string(page), row) {
		t.Errorf("overview lacks the dev key's row %s", row)
	}

	if err := root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	raw.Vault.Transit = nil
	if code := consoleGet(t, c, a.URL("console")+"/api/v1/status", &raw); code != http.StatusOK || raw.Vault.Transit != nil {
		t.Errorf("status of a sealed vault: %d, transit %s; want 200 and none", code, raw.Vault.Transit)
	}
}
