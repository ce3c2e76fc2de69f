//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/kmsbox/kmsbox/internal/testutil"
)

// parseKESTable parses a one-column table of the kes CLI (`kes key ls`, `kes identity ls`):
// the header, then one value a line.
func parseKESTable(t testing.TB, out, header string) []string {
	t.Helper()
	lines := scanLines(out)
	if len(lines) == 0 || lines[0] != header {
		t.Fatalf("the kes CLI printed %q, want a %q header and one value a line", out, header)
	}
	return lines[1:]
}

// parseKESFields parses `kes key info` and `kes identity info`: "Name  x", "Algorithm  y", ...
// one field a line, keyed by the first word.
func parseKESFields(t testing.TB, out string) map[string]string {
	t.Helper()
	info := map[string]string{}
	for _, l := range scanLines(out) {
		k, v, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("kes key info printed %q: line %q has no value", out, l)
		}
		info[k] = strings.TrimSpace(v)
	}
	return info
}

// kesDataKey is a data key as KES returns it from /v1/key/generate and `kes key dek`.
type kesDataKey struct {
	Plaintext  []byte `json:"plaintext"`
	Ciphertext []byte `json:"ciphertext"`
}

// kesPeer is one KES server's HTTP API seen by a client with an identity.
type kesPeer struct {
	name string // for messages
	url  string
	c    *http.Client
}

// call sends a KES API request and fails unless the status is want; it returns the body.
func (k kesPeer) call(t testing.TB, method, path string, body any, want int) string {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	code, resp := doStatus(t, k.c, method, k.url+path, nil, b)
	if code != want {
		t.Fatalf("%s: %s %s %s: status %d, want %d; body %s", k.name, method, path, b, code, want, resp)
	}
	return resp
}

// do sends a KES API request, fails unless the status is 200, and decodes the body into out.
func (k kesPeer) do(t testing.TB, method, path string, body, out any) {
	t.Helper()
	resp := k.call(t, method, path, body, http.StatusOK)
	if err := json.Unmarshal([]byte(resp), out); err != nil {
		t.Fatalf("%s: %s %s: %v in %q", k.name, method, path, err, resp)
	}
}

// generate asks for a data key of key name, bound to kesContext (none when nil).
func (k kesPeer) generate(t testing.TB, name string, kesContext []byte) kesDataKey {
	t.Helper()
	var d kesDataKey
	k.do(t, http.MethodPost, "/v1/key/generate/"+name, map[string][]byte{"context": kesContext}, &d)
	if len(d.Plaintext) != 32 || len(d.Ciphertext) == 0 {
		t.Fatalf("%s: generate %s: %d-byte plaintext, %d-byte ciphertext; want 32 and some", k.name, name, len(d.Plaintext), len(d.Ciphertext))
	}
	return d
}

// decrypt fails unless the ciphertext of d decrypts under key name and kesContext to d's
// plaintext.
func (k kesPeer) decrypt(t testing.TB, name string, d kesDataKey, kesContext []byte) {
	t.Helper()
	var got struct {
		Plaintext []byte `json:"plaintext"`
	}
	k.do(t, http.MethodPost, "/v1/key/decrypt/"+name, map[string][]byte{"ciphertext": d.Ciphertext, "context": kesContext}, &got)
	if !bytes.Equal(got.Plaintext, d.Plaintext) {
		t.Fatalf("%s: decrypt %s gave %x, want %x", k.name, name, got.Plaintext, d.Plaintext)
	}
}

// unknownKey fails unless describing key name says the key does not exist, as KES does.
func (k kesPeer) unknownKey(t testing.TB, name string) {
	t.Helper()
	body := k.call(t, http.MethodGet, "/v1/key/describe/"+name, nil, http.StatusNotFound)
	var e struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Message != "key does not exist" {
		t.Fatalf("%s: describe of the missing key %s: body %s, want {\"message\":\"key does not exist\"}", k.name, name, body)
	}
}

// list returns the names of the keys matching pattern.
func (k kesPeer) list(t testing.TB, pattern string) []string {
	t.Helper()
	var l struct {
		Names []string `json:"names"`
	}
	k.do(t, http.MethodGet, "/v1/key/list/"+pattern, nil, &l)
	slices.Sort(l.Names)
	return l.Names
}

// setupKESAppRole does the guide's step 3 on kmsbox's Vault API: a K/V v1 engine at kv/, AppRole,
// a policy for kv/<prefix>/* and a role; it returns the role ID and a secret ID.
func setupKESAppRole(t testing.TB, vc *vaultapi.Client, prefix string) (roleID, secretID string) {
	t.Helper()
	write := func(path string, data map[string]any) *vaultapi.Secret {
		t.Helper()
		s, err := vc.Logical().Write(path, data)
		if err != nil {
			t.Fatalf("vault write %s: %v", path, err)
		}
		return s
	}
	write("sys/mounts/kv", map[string]any{"type": "kv"})
	write("sys/auth/approle", map[string]any{"type": "approle"})
	write("sys/policies/acl/kes-policy", map[string]any{"policy": fmt.Sprintf(`path "kv/%s/*" {
  capabilities = ["create", "read", "delete", "list"]
}
`, prefix)})
	write("auth/approle/role/kes-role", map[string]any{
		"token_num_uses": 0, "secret_id_num_uses": 0, "period": "5m", "policies": "kes-policy",
	})
	s, err := vc.Logical().Read("auth/approle/role/kes-role/role-id")
	if err != nil || s == nil {
		t.Fatalf("vault read role-id: %v, %v", s, err)
	}
	roleID, _ = s.Data["role_id"].(string)
	s = write("auth/approle/role/kes-role/secret-id", nil)
	if s == nil {
		t.Fatal("vault write secret-id returned no secret")
	}
	secretID, _ = s.Data["secret_id"].(string)
	if roleID == "" || secretID == "" {
		t.Fatalf("role ID %q, secret ID %q: want both", roleID, secretID)
	}
	return roleID, secretID
}

// vaultList lists a path of the vault, sorted; none when the path holds nothing.
func vaultList(t testing.TB, vc *vaultapi.Client, path string) []string {
	t.Helper()
	s, err := vc.Logical().List(path)
	if err != nil {
		t.Fatalf("vault list %s: %v", path, err)
	}
	var names []string
	if s != nil {
		keys, _ := s.Data["keys"].([]any)
		for _, k := range keys {
			name, _ := k.(string)
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// fails sends a KES API request and fails unless the answer is status with KES's error body
// {"message": message}. The real KES v0.24 writes it with a newline before the closing brace,
// so the body is compared as JSON.
func (k kesPeer) fails(t testing.TB, c *http.Client, method, path string, body []byte, status int, message string) {
	t.Helper()
	code, got := doStatus(t, c, method, k.url+path, nil, body)
	var e map[string]string
	if err := json.Unmarshal([]byte(got), &e); err != nil || code != status || len(e) != 1 || e["message"] != message {
		t.Errorf("%s: %s %s %s = %d %q, want %d {\"message\":%q}", k.name, method, path, body, code, got, status, message)
	}
}

// encrypt seals plaintext under key name.
func (k kesPeer) encrypt(t testing.TB, name string, plaintext []byte) []byte {
	t.Helper()
	var enc struct {
		Ciphertext []byte `json:"ciphertext"`
	}
	k.do(t, http.MethodPost, "/v1/key/encrypt/"+name, map[string][]byte{"plaintext": plaintext}, &enc)
	return enc.Ciphertext
}

// realKESRig is what the steps of TestRealKES share: kmsbox#1 (whose vault holds the keys),
// the real KES, kmsbox#2 (a KES on the same YAML and vault), their clients and the real CLI.
type realKESRig struct {
	kesBin, bin, work string

	srv   *proc            // kmsbox#1: the vault, and its own KES for step 7
	vault *vaultapi.Client // root token on kmsbox#1's vault

	roleID, secretID string
	srvKey, srvCert  string // the real KES's TLS key pair, made by `kes identity new`
	kesYAML          func(addr string) []byte

	adminCert, adminKey, adminID string // kmsbox#1's admin: the admin of all three KES servers
	trust                        string // kmsbox#1's CA + srvCert
	pool                         *x509.CertPool
	admin                        *http.Client

	real, box, own  kesPeer // the real KES, kmsbox#2's KES, kmsbox#1's KES
	realCLI, ownCLI cmd     // the kes CLI against the real KES and against kmsbox#1's KES
}

// TestRealKES runs the real KES (v0.24, a separate process) against kmsbox: the real server
// keeps its keys in kmsbox's vault over HTTPS with AppRole; a second kmsbox, configured with
// the same KES YAML, shares those keys both ways; both answer the same requests the same way;
// and the real kes CLI drives kmsbox's own KES API. Last, kmsbox's vault is sealed and
// unsealed under all three.
func TestRealKES(t *testing.T) {
	r := &realKESRig{kesBin: peerBin(t, "KMSBOX_KES_BIN", "bin/kes"), bin: kmsboxBin(t), work: t.TempDir()}
	r.srv = startServer(t, t.TempDir())
	if !steps(t, step{"vault approle", r.setupVault}, step{"identities", r.identities}) {
		return
	}
	// Made here, not in a step: a step's cleanups (its processes, its temporary dirs) run
	// when the step ends, and the later steps share these.
	r.clients(t)
	r.startRealKES(t)
	if !steps(t, step{"real KES keeps keys in vault", r.realKESKeepsKeysInVault}) {
		return
	}
	r.startSecondKmsbox(t)
	steps(t, step{"shared keys", r.sharedKeys}, step{"deletes reach the other", r.deletesReachTheOther},
		step{"same answers", r.sameAnswers}, step{"imported keys", r.importedKeys},
		step{"kes CLI against kmsbox", r.cliAgainstKmsbox}, step{"sealed vault", r.sealedVault})
}

// setupVault is steps 1 and 2: the guide's step 3 over kmsbox#1's Vault API.
func (r *realKESRig) setupVault(t *testing.T) {
	cfg := vaultapi.DefaultConfig()
	cfg.Address = r.srv.env["VAULT_ADDR"]
	if err := cfg.ConfigureTLS(&vaultapi.TLSConfig{CACert: r.srv.env["VAULT_CACERT"]}); err != nil {
		t.Fatal(err)
	}
	vc, err := vaultapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vc.SetToken(r.srv.env["VAULT_TOKEN"])
	r.vault = vc
	r.roleID, r.secretID = setupKESAppRole(t, vc, "realkes")
}

// identities is step 3: the real KES's certificate from the real CLI, and the admin identity
// of kmsbox#1's admin certificate, computed alike by both tools.
func (r *realKESRig) identities(t *testing.T) {
	plain := cmd{dir: r.work, env: baseEnv(t.TempDir())}
	r.srvKey, r.srvCert = filepath.Join(r.work, "srv.key"), filepath.Join(r.work, "srv.crt")
	out := plain.ok(t, r.kesBin, "identity", "new", "--ip", "127.0.0.1", "--key", r.srvKey, "--cert", r.srvCert, "localhost")
	srvID := strings.TrimSpace(plain.ok(t, r.kesBin, "identity", "of", r.srvCert))
	if want := kesIdentity(readCert(t, r.srvCert)); srvID != want || !strings.Contains(out, want) {
		t.Fatalf("kes identity of %s = %q, want %s (also in the output of identity new:\n%s)", r.srvCert, srvID, want, out)
	}
	if got := strings.TrimSpace(plain.ok(t, r.bin, "identity", "of", r.srvCert)); got != srvID {
		t.Errorf("kmsbox identity of the real KES's certificate = %q, kes says %q", got, srvID)
	}
	r.adminCert, r.adminKey = r.srv.env["KES_CLIENT_CERT"], r.srv.env["KES_CLIENT_KEY"]
	r.adminID = strings.TrimSpace(plain.ok(t, r.bin, "identity", "of", r.adminCert))
	if kesID := strings.TrimSpace(plain.ok(t, r.kesBin, "identity", "of", r.adminCert)); r.adminID != kesID || kesID != kesIdentity(readCert(t, r.adminCert)) {
		t.Fatalf("identity of kmsbox's admin cert: kmsbox %q, kes %q, want both %s", r.adminID, kesID, kesIdentity(readCert(t, r.adminCert)))
	}
}

// clients makes the clients the later steps share. They trust kmsbox#1's CA and the real
// KES's certificate from step 3.
func (r *realKESRig) clients(t *testing.T) {
	// Clients trust kmsbox#1's CA and the real KES's self-signed certificate, nothing else:
	// the kes CLI through SSL_CERT_FILE (no --insecure), Go through the pool.
	r.trust = filepath.Join(r.work, "trust.pem")
	caPEM, err := os.ReadFile(r.srv.caFile())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(r.srvCert)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.trust, append(append(caPEM, '\n'), certPEM...))
	r.pool = caPool(t, r.trust)
	r.admin = httpsClient(t, r.pool, r.adminCert, r.adminKey)
	// kmsbox#1's own KES, trusting only kmsbox#1's CA; the real CLI against it likewise.
	r.own = kesPeer{name: "kmsbox#1 KES", url: r.srv.urls["kes"], c: httpsClient(t, caPool(t, r.srv.caFile()), r.adminCert, r.adminKey)}
	r.ownCLI = cmd{dir: r.work, env: append(r.srv.envFor(t, []string{"KES_SERVER", "KES_CLIENT_CERT", "KES_CLIENT_KEY"}), "SSL_CERT_FILE="+r.srv.caFile())}
}

// startRealKES is step 4: the real KES on the guide's config (as v0.24 YAML), with its keys
// in kmsbox#1's vault under kv/realkes/.
func (r *realKESRig) startRealKES(t *testing.T) {
	r.kesYAML = func(addr string) []byte {
		return fmt.Appendf(nil, `address: %s
admin:
  identity: %s
tls:
  key: %s
  cert: %s
keystore:
  vault:
    endpoint: %s
    engine: kv
    version: v1
    prefix: realkes
    approle:
      id: %s
      secret: %s
      retry: 15s
    tls:
      ca: %s
    status:
      ping: 10s
`, addr, r.adminID, r.srvKey, r.srvCert, r.srv.env["VAULT_ADDR"], r.roleID, r.secretID, r.srv.env["VAULT_CACERT"])
	}
	addr := testutil.FreeAddr(t)
	conf := filepath.Join(r.work, "kes.yml")
	writeFile(t, conf, r.kesYAML(addr))
	startPeer(t, r.kesBin, filepath.Dir(conf), []string{"server", "--config", conf}, baseEnv(t.TempDir()), "Server is up and running")
	r.real = kesPeer{name: "real KES", url: "https://" + addr, c: r.admin}
	r.realCLI = cmd{dir: r.work, env: append(baseEnv(t.TempDir()), "KES_SERVER="+r.real.url,
		"KES_CLIENT_CERT="+r.adminCert, "KES_CLIENT_KEY="+r.adminKey, "SSL_CERT_FILE="+r.trust)}
}

// realKESKeepsKeysInVault is step 5: the real CLI creates a key on the real KES, and the key
// lands in kmsbox#1's vault as the real KES's entry.
func (r *realKESRig) realKESKeepsKeysInVault(t *testing.T) {
	r.realCLI.ok(t, r.kesBin, "key", "create", "real-key-1")
	if got := parseKESTable(t, r.realCLI.ok(t, r.kesBin, "key", "ls"), "Key"); !slices.Equal(got, []string{"real-key-1"}) {
		t.Fatalf("kes key ls on the real KES = %q, want [real-key-1]", got)
	}
	info := parseKESFields(t, r.realCLI.ok(t, r.kesBin, "key", "info", "real-key-1"))
	if info["Name"] != "real-key-1" || info["Algorithm"] != "AES256" || info["Owner"] != r.adminID {
		t.Fatalf("kes key info real-key-1 on the real KES = %q, want Name real-key-1, Algorithm AES256, Owner %s", info, r.adminID)
	}
	if got := vaultList(t, r.vault, "kv/realkes"); !slices.Equal(got, []string{"real-key-1"}) {
		t.Fatalf("LIST kv/realkes on kmsbox's vault = %q, want [real-key-1]", got)
	}
	// KES's K/V v1 entry: one field named after the key, holding the encoded key.
	e, err := r.vault.Logical().Read("kv/realkes/real-key-1")
	if err != nil || e == nil {
		t.Fatalf("READ kv/realkes/real-key-1 on kmsbox's vault = %v, %v; want the real KES's entry", e, err)
	}
	if v, _ := e.Data["real-key-1"].(string); len(e.Data) != 1 || v == "" {
		t.Fatalf("the real KES's entry kv/realkes/real-key-1 holds %q, want one field real-key-1", slices.Sorted(maps.Keys(e.Data)))
	}
}

// startSecondKmsbox starts kmsbox#2 whose KES reads the same KES YAML as the real KES (only
// the address differs): same TLS certificate, admin and key store, so kmsbox's KES reaches
// kmsbox#1's vault over HTTPS with AppRole exactly as the real KES does.
func (r *realKESRig) startSecondKmsbox(t *testing.T) {
	conf := filepath.Join(r.work, "kes-kmsbox.yml")
	writeFile(t, conf, r.kesYAML("127.0.0.1:0"))
	box2 := spawn(t, serverArgs(t.TempDir(), "--kes-config", conf))
	box2.waitReady(t)
	r.box = kesPeer{name: "kmsbox#2 KES", url: box2.urls["kes"], c: r.admin}

	// It serves the certificate the shared config names (the pool holds it and not
	// kmsbox#2's own CA, so every request to it depends on that).
	conn, err := tls.Dial("tcp", box2.addr("kes"), &tls.Config{RootCAs: r.pool, MinVersion: tls.VersionTLS12,
		Certificates: r.admin.Transport.(*http.Transport).TLSClientConfig.Certificates})
	if err != nil {
		t.Fatalf("TLS to kmsbox#2's KES trusting only the shared certificate and kmsbox#1's CA: %v", err)
	}
	defer conn.Close()
	if peer := conn.ConnectionState().PeerCertificates; len(peer) == 0 || !bytes.Equal(peer[0].Raw, readCert(t, r.srvCert).Raw) {
		t.Errorf("kmsbox#2's KES does not serve tls.cert %s of the shared config", r.srvCert)
	}
}

// sharedKeys is step 6: the keys of one server are the keys of the other, both ways.
func (r *realKESRig) sharedKeys(t *testing.T) {
	// A data key of the real KES decrypts through kmsbox, which describes the key as its
	// creator left it.
	d := r.real.generate(t, "real-key-1", nil)
	r.box.decrypt(t, "real-key-1", d, nil)
	var desc struct {
		Name      string `json:"name"`
		Algorithm string `json:"algorithm"`
		CreatedBy string `json:"created_by"`
	}
	r.box.do(t, http.MethodGet, "/v1/key/describe/real-key-1", nil, &desc)
	if desc.Name != "real-key-1" || desc.Algorithm != "AES256" || desc.CreatedBy != r.adminID {
		t.Errorf("kmsbox describes the real KES's key as %+v, want real-key-1, AES256, created by %s", desc, r.adminID)
	}

	// A key kmsbox creates is listed and usable by the real KES. minio-key-1 is the key
	// kmsbox#2's --dev seeds, in the key store it was given.
	r.box.call(t, http.MethodPost, "/v1/key/create/kmsbox-key-1", nil, http.StatusOK)
	shared := []string{"kmsbox-key-1", "minio-key-1", "real-key-1"}
	if got := parseKESTable(t, r.realCLI.ok(t, r.kesBin, "key", "ls"), "Key"); !slices.Equal(got, shared) {
		t.Fatalf("kes key ls on the real KES = %q, want %q", got, shared)
	}
	if got := r.box.list(t, "*"); !slices.Equal(got, shared) {
		t.Fatalf("kmsbox#2 lists %q, want %q", got, shared)
	}
	if got := vaultList(t, r.vault, "kv/realkes"); !slices.Equal(got, shared) {
		t.Fatalf("LIST kv/realkes on kmsbox's vault = %q, want %q", got, shared)
	}
	d = r.box.generate(t, "kmsbox-key-1", nil)
	r.real.decrypt(t, "kmsbox-key-1", d, nil)
	info := parseKESFields(t, r.realCLI.ok(t, r.kesBin, "key", "info", "kmsbox-key-1"))
	if info["Name"] != "kmsbox-key-1" || info["Algorithm"] != "AES256" || info["Owner"] != r.adminID {
		t.Errorf("kes key info kmsbox-key-1 on the real KES = %q, want Name kmsbox-key-1, Algorithm AES256, Owner %s", info, r.adminID)
	}

	// The real CLI's data key decrypts through kmsbox, and the CLI decrypts kmsbox's.
	var cliDEK kesDataKey
	if out := r.realCLI.ok(t, r.kesBin, "key", "dek", "real-key-1"); json.Unmarshal([]byte(out), &cliDEK) != nil || len(cliDEK.Plaintext) != 32 {
		t.Fatalf("kes key dek real-key-1 printed %q, want {\"plaintext\":<32 bytes>,\"ciphertext\":...}", out)
	}
	r.box.decrypt(t, "real-key-1", cliDEK, nil)
	cliDecrypt(t, r.realCLI, r.kesBin, "kmsbox-key-1", d)

	// Encryption with and without a context, both ways, for keys of either origin; the
	// ciphertext of a data key has the current KES layout (32 + 16 tag + 16 iv + 12 nonce).
	for _, pair := range [][2]kesPeer{{r.real, r.box}, {r.box, r.real}} {
		from, to := pair[0], pair[1]
		for _, key := range []string{"real-key-1", "kmsbox-key-1"} {
			msg := []byte("sealed by " + from.name + " with " + key)
			to.decrypt(t, key, kesDataKey{Plaintext: msg, Ciphertext: from.encrypt(t, key, msg)}, nil)
			bound := []byte("bucket/object")
			g := from.generate(t, key, bound)
			to.decrypt(t, key, g, bound)
			if len(g.Ciphertext) != 76 {
				t.Errorf("%s: a data key of %s has a %d-byte ciphertext, want 76", from.name, key, len(g.Ciphertext))
			}
		}
	}
	// Same key bytes and HMAC key: the HMACs are equal.
	for _, key := range []string{"real-key-1", "kmsbox-key-1"} {
		msg := map[string][]byte{"message": []byte("authenticate me")}
		real := r.real.call(t, http.MethodPost, "/v1/key/hmac/"+key, msg, http.StatusOK)
		if box := r.box.call(t, http.MethodPost, "/v1/key/hmac/"+key, msg, http.StatusOK); real != box {
			t.Errorf("HMAC under %s: real KES %s, kmsbox %s; want the same", key, real, box)
		}
	}
}

// cliDecrypt fails unless `kes key decrypt` of d's ciphertext under key prints d's plaintext.
func cliDecrypt(t testing.TB, c cmd, kesBin, key string, d kesDataKey) {
	t.Helper()
	out := c.ok(t, kesBin, "key", "decrypt", key, base64.StdEncoding.EncodeToString(d.Ciphertext))
	var pt struct {
		Plaintext []byte `json:"plaintext"`
	}
	if err := json.Unmarshal([]byte(out), &pt); err != nil || !bytes.Equal(pt.Plaintext, d.Plaintext) {
		t.Errorf("kes key decrypt %s printed %q (%v), want {\"plaintext\":%q}", key, out, err, base64.StdEncoding.EncodeToString(d.Plaintext))
	}
}

// deletesReachTheOther: deleting through one server makes the key unknown to the other. Each
// key is one the other server never loaded (listing reads the store, not the key cache).
func (r *realKESRig) deletesReachTheOther(t *testing.T) {
	r.realCLI.ok(t, r.kesBin, "key", "create", "real-del-1")
	if got := r.box.list(t, "real"); !slices.Equal(got, []string{"real-del-1", "real-key-1"}) {
		t.Fatalf("kmsbox#2 lists real as %q, want [real-del-1 real-key-1]", got)
	}
	r.realCLI.ok(t, r.kesBin, "key", "rm", "real-del-1")
	if got := r.box.list(t, "real"); !slices.Equal(got, []string{"real-key-1"}) {
		t.Errorf("kmsbox#2 lists real as %q after the real KES deleted real-del-1, want [real-key-1]", got)
	}
	r.box.unknownKey(t, "real-del-1")

	r.box.call(t, http.MethodPost, "/v1/key/create/kmsbox-del-1", nil, http.StatusOK)
	if got := parseKESTable(t, r.realCLI.ok(t, r.kesBin, "key", "ls", "kmsbox"), "Key"); !slices.Equal(got, []string{"kmsbox-del-1", "kmsbox-key-1"}) {
		t.Fatalf("kes key ls kmsbox on the real KES = %q, want [kmsbox-del-1 kmsbox-key-1]", got)
	}
	r.box.call(t, http.MethodDelete, "/v1/key/delete/kmsbox-del-1", nil, http.StatusOK)
	res := r.realCLI.fails(t, r.kesBin, "key", "info", "kmsbox-del-1")
	if res.code != 1 || strings.TrimSpace(res.stderr) != "Error: failed to describe keys: key does not exist" {
		t.Errorf("kes key info of the key kmsbox deleted: exit %d, stderr %q; want 1 and KES's \"key does not exist\"", res.code, res.stderr)
	}
	if got := parseKESTable(t, r.realCLI.ok(t, r.kesBin, "key", "ls", "kmsbox"), "Key"); !slices.Equal(got, []string{"kmsbox-key-1"}) {
		t.Errorf("kes key ls kmsbox on the real KES = %q after kmsbox deleted kmsbox-del-1, want [kmsbox-key-1]", got)
	}
	if got, want := vaultList(t, r.vault, "kv/realkes"), []string{"kmsbox-key-1", "minio-key-1", "real-key-1"}; !slices.Equal(got, want) {
		t.Errorf("LIST kv/realkes on kmsbox's vault = %q after both deletes, want %q", got, want)
	}
}

// sameAnswers: both servers answer the same requests alike, errors included (status and
// KES's exact message), and describe their API and status with the same routes and fields:
// invalid listing patterns, DELETE of a missing key (an empty 200) and /v1/api route for
// route (method, path, body limit of 1000000 bytes: KES's decimal 1 MB, timeout). The one
// difference kept on purpose: "kmsbox-*" lists the prefix's keys on kmsbox, none on v0.24.
func (r *realKESRig) sameAnswers(t *testing.T) {
	d := r.box.generate(t, "kmsbox-key-1", nil)
	tampered := bytes.Clone(d.Ciphertext)
	tampered[0] ^= 1
	js := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// kmsbox#1's MinIO identity is in neither server's policies.
	stranger := httpsClient(t, r.pool, r.srv.env["MINIO_KMS_KES_CERT_FILE"], r.srv.env["MINIO_KMS_KES_KEY_FILE"])
	const notAuthentic = "decryption failed: ciphertext is not authentic"
	for _, rq := range []struct {
		method, path string
		body         []byte
		c            *http.Client
		status       int
		message      string
	}{
		{"GET", "/v1/key/describe/no-such-key", nil, r.admin, 404, "key does not exist"},
		{"POST", "/v1/key/create/real-key-1", nil, r.admin, 400, "key already exists"},
		{"POST", "/v1/key/create/kmsbox-key-1", nil, r.admin, 400, "key already exists"},
		{"POST", "/v1/key/generate/no-such-key", nil, r.admin, 404, "key does not exist"},
		{"POST", "/v1/key/decrypt/kmsbox-key-1", js(map[string][]byte{"ciphertext": tampered}), r.admin, 400, notAuthentic},
		{"POST", "/v1/key/decrypt/kmsbox-key-1", js(map[string][]byte{"ciphertext": d.Ciphertext, "context": []byte("ctx")}), r.admin, 400, notAuthentic},
		{"POST", "/v1/key/decrypt/real-key-1", js(map[string][]byte{"ciphertext": d.Ciphertext}), r.admin, 400, notAuthentic},
		{"POST", "/v1/key/decrypt/kmsbox-key-1", js(map[string][]byte{"ciphertext": []byte("short")}), r.admin, 400, notAuthentic},
		{"POST", "/v1/key/decrypt/kmsbox-key-1", []byte(`{"ciphertext":"!!"}`), r.admin, 400, "invalid request body"},
		{"POST", "/v1/key/decrypt/kmsbox-key-1", []byte(`{`), r.admin, 400, "invalid request body"},
		{"POST", "/v1/key/create/-bad", nil, r.admin, 400, "key name '-bad' is empty, too long or contains invalid characters"},
		{"GET", "/v1/key/create/x", nil, r.admin, 405, "received method 'GET' expected 'PUT'"},
		{"GET", "/v1/key/list/kmsbox-", nil, r.admin, 400, "listing pattern 'kmsbox-' is empty, too long or is invalid"},
		{"GET", "/v1/key/list/-kmsbox", nil, r.admin, 400, "listing pattern '-kmsbox' is empty, too long or is invalid"},
		{"GET", "/v1/key/list/_", nil, r.admin, 400, "listing pattern '_' is empty, too long or is invalid"},
		{"GET", "/v1/key/list/km*box", nil, r.admin, 400, "listing pattern 'km*box' is empty, too long or is invalid"},
		{"GET", "/v1/key/list/kmsbox**", nil, r.admin, 400, "listing pattern 'kmsbox**' is empty, too long or is invalid"},
		{"GET", "/v1/key/list/" + strings.Repeat("k", 81), nil, r.admin, 400, "listing pattern '" + strings.Repeat("k", 81) + "' is empty, too long or is invalid"},
		{"GET", "/v1/policy/list/min-", nil, r.admin, 400, "listing pattern 'min-' is empty, too long or is invalid"},
		{"GET", "/v1/identity/list/-a*", nil, r.admin, 400, "listing pattern '-a*' is empty, too long or is invalid"},
		{"GET", "/v1/key/describe/real-key-1", nil, stranger, 403, "not authorized: insufficient permissions"},
		{"POST", "/v1/key/generate/kmsbox-key-1", nil, stranger, 403, "not authorized: insufficient permissions"},
	} {
		r.real.fails(t, rq.c, rq.method, rq.path, rq.body, rq.status, rq.message)
		r.box.fails(t, rq.c, rq.method, rq.path, rq.body, rq.status, rq.message)
	}

	// Valid patterns list alike: by name prefix, "*" for all, a "-" before a last "*" is
	// allowed. The one difference left is kept on purpose: a name prefix followed by "*" is
	// a prefix for kmsbox (as the spec describes list patterns), while the real KES v0.24
	// looks for keys whose names begin with the "*" itself, and finds none.
	for _, p := range []string{"kmsbox", "kmsbox-key", "real", "*", "zzz"} {
		if real, box := r.real.list(t, p), r.box.list(t, p); !slices.Equal(real, box) {
			t.Errorf("list %q: real KES %q, kmsbox %q", p, real, box)
		}
	}
	if real, box := r.real.list(t, "kmsbox-*"), r.box.list(t, "kmsbox-*"); len(real) != 0 || !slices.Equal(box, []string{"kmsbox-key-1"}) {
		t.Errorf("list \"kmsbox-*\": real KES %q, kmsbox %q; want [] (v0.24 takes the * literally) and [kmsbox-key-1] (kmsbox's prefix)", real, box)
	}

	// Deleting a key that does not exist succeeds with an empty 200 on both.
	for _, k := range []kesPeer{r.real, r.box} {
		if body := k.call(t, http.MethodDelete, "/v1/key/delete/no-such-key", nil, http.StatusOK); body != "" {
			t.Errorf("%s: DELETE /v1/key/delete/no-such-key = 200 %q, want an empty body", k.name, body)
		}
	}

	for _, k := range []kesPeer{r.real, r.box} {
		var self struct {
			Identity string `json:"identity"`
			Admin    bool   `json:"admin"`
		}
		k.do(t, http.MethodGet, "/v1/identity/self/describe", nil, &self)
		if self.Identity != r.adminID || !self.Admin {
			t.Errorf("%s: self describe = %+v, want %s admin", k.name, self, r.adminID)
		}
	}
	statusFields := func(k kesPeer) []string {
		var m map[string]any
		k.do(t, http.MethodGet, "/v1/status", nil, &m)
		return slices.Sorted(maps.Keys(m))
	}
	if real, box := statusFields(r.real), statusFields(r.box); len(real) < 8 || !slices.Equal(real, box) {
		t.Errorf("/v1/status fields: real KES %q, kmsbox %q", real, box)
	}
	routes := func(k kesPeer) []string {
		var api []struct {
			Method  string `json:"method"`
			Path    string `json:"path"`
			MaxBody int64  `json:"max_body"`
			Timeout int    `json:"timeout"`
		}
		k.do(t, http.MethodGet, "/v1/api", nil, &api)
		var l []string
		for _, a := range api {
			l = append(l, fmt.Sprintf("%s %s %dB %ds", a.Method, a.Path, a.MaxBody, a.Timeout))
		}
		slices.Sort(l)
		return l
	}
	if real, box := routes(r.real), routes(r.box); len(real) < 20 || !slices.Equal(real, box) {
		t.Errorf("/v1/api routes:\nreal KES %q\nkmsbox   %q", real, box)
	}
}

// importedKeys: the same 32 bytes imported under one name by each server. Both servers see
// both keys alike (describe, HMAC), and a ciphertext sealed under one name opens under the
// other on the other server: KES ciphertexts name no key, the bytes decide.
func (r *realKESRig) importedKeys(t *testing.T) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	r.realCLI.ok(t, r.kesBin, "key", "import", "imp-real", base64.StdEncoding.EncodeToString(raw))
	r.box.call(t, http.MethodPost, "/v1/key/import/imp-kmsbox", map[string]any{"key": raw, "cipher": "AES256"}, http.StatusOK)
	for _, key := range []string{"imp-real", "imp-kmsbox"} {
		real := r.real.call(t, http.MethodGet, "/v1/key/describe/"+key, nil, http.StatusOK)
		box := r.box.call(t, http.MethodGet, "/v1/key/describe/"+key, nil, http.StatusOK)
		var rd, bd map[string]any
		if json.Unmarshal([]byte(real), &rd) != nil || json.Unmarshal([]byte(box), &bd) != nil || !maps.Equal(rd, bd) || rd["name"] != key || rd["algorithm"] != "AES256" || rd["created_by"] != r.adminID {
			t.Errorf("describe %s: real KES %s, kmsbox %s; want the same, AES256, created by %s", key, real, box, r.adminID)
		}
		msg := map[string][]byte{"message": []byte("imported")}
		if real, box := r.real.call(t, http.MethodPost, "/v1/key/hmac/"+key, msg, http.StatusOK), r.box.call(t, http.MethodPost, "/v1/key/hmac/"+key, msg, http.StatusOK); real != box {
			t.Errorf("HMAC under the imported %s: real KES %s, kmsbox %s", key, real, box)
		}
	}
	msg := []byte("one key, two names")
	r.box.decrypt(t, "imp-kmsbox", kesDataKey{Plaintext: msg, Ciphertext: r.real.encrypt(t, "imp-real", msg)}, nil)
	r.real.decrypt(t, "imp-real", kesDataKey{Plaintext: msg, Ciphertext: r.box.encrypt(t, "imp-kmsbox", msg)}, nil)
	for _, key := range []string{"imp-real", "imp-kmsbox"} {
		r.box.call(t, http.MethodDelete, "/v1/key/delete/"+key, nil, http.StatusOK)
	}
}

// cliAgainstKmsbox is step 7: the real kes CLI against kmsbox#1's own KES.
func (r *realKESRig) cliAgainstKmsbox(t *testing.T) {
	kes, c := r.kesBin, r.ownCLI
	status := scanLines(c.ok(t, kes, "status"))
	if len(status) < 3 || status[0] != "● "+r.srv.addr("kes") || !strings.HasPrefix(status[1], "Version") || !strings.HasPrefix(status[2], "Uptime") {
		t.Errorf("kes status against kmsbox printed %q, want \"● %s\", Version, Uptime, ...", status, r.srv.addr("kes"))
	}
	if got := parseKESTable(t, c.ok(t, kes, "key", "ls"), "Key"); !slices.Equal(got, []string{"minio-key-1"}) {
		t.Errorf("kes key ls against kmsbox = %q, want [minio-key-1]", got)
	}
	c.ok(t, kes, "key", "create", "cli-key")
	if res := c.fails(t, kes, "key", "create", "cli-key"); res.code != 1 || !strings.Contains(res.stderr, "key already exists") {
		t.Errorf("kes key create of an existing key against kmsbox: exit %d, stderr %q; want 1 and \"key already exists\"", res.code, res.stderr)
	}
	if got := parseKESTable(t, c.ok(t, kes, "key", "ls"), "Key"); !slices.Equal(got, []string{"cli-key", "minio-key-1"}) {
		t.Errorf("kes key ls against kmsbox = %q, want [cli-key minio-key-1]", got)
	}
	info := parseKESFields(t, c.ok(t, kes, "key", "info", "cli-key"))
	if info["Name"] != "cli-key" || info["Algorithm"] != "AES256" || info["Owner"] != r.adminID {
		t.Errorf("kes key info cli-key against kmsbox = %q, want Name cli-key, Algorithm AES256, Owner %s", info, r.adminID)
	}
	var d kesDataKey
	if out := c.ok(t, kes, "key", "dek", "cli-key"); json.Unmarshal([]byte(out), &d) != nil || len(d.Plaintext) != 32 {
		t.Fatalf("kes key dek cli-key against kmsbox printed %q, want a 32-byte data key", out)
	}
	r.own.decrypt(t, "cli-key", d, nil)
	cliDecrypt(t, c, kes, "cli-key", d)

	res := c.fails(t, kes, "key", "info", "no-such-key")
	if res.code != 1 || strings.TrimSpace(res.stderr) != "Error: failed to describe keys: key does not exist" {
		t.Errorf("kes key info no-such-key against kmsbox: exit %d, stderr %q; want 1 and \"Error: failed to describe keys: key does not exist\"", res.code, res.stderr)
	}
	// The same failure from the real KES: the CLI cannot tell them apart.
	if real := r.realCLI.fails(t, kes, "key", "info", "no-such-key"); real.code != res.code || real.stderr != res.stderr {
		t.Errorf("kes key info no-such-key: real KES exit %d %q, kmsbox exit %d %q", real.code, real.stderr, res.code, res.stderr)
	}

	// Identities and the --dev policy, as the CLI shows them.
	who := parseKESFields(t, c.ok(t, kes, "identity", "info"))
	if who["Identity"] != r.adminID || who["Role"] != "Admin" {
		t.Errorf("kes identity info against kmsbox = %q, want Identity %s, Role Admin", who, r.adminID)
	}
	minioID := kesIdentity(readCert(t, r.srv.env["MINIO_KMS_KES_CERT_FILE"]))
	want := []string{r.adminID, minioID}
	slices.Sort(want)
	if got := parseKESTable(t, c.ok(t, kes, "identity", "ls"), "Identity"); !slices.Equal(got, want) {
		t.Errorf("kes identity ls against kmsbox = %q, want %q (admin and MinIO)", got, want)
	}
	if got := parseKESTable(t, c.ok(t, kes, "policy", "ls"), "Key"); !slices.Equal(got, []string{"minio"}) {
		t.Errorf("kes policy ls against kmsbox = %q, want [minio]", got)
	}
	var pol struct {
		Allow     map[string]struct{} `json:"allow"`
		CreatedBy string              `json:"created_by"`
	}
	if out := c.ok(t, kes, "policy", "show", "minio"); json.Unmarshal([]byte(out), &pol) != nil ||
		!slices.Equal(slices.Sorted(maps.Keys(pol.Allow)), []string{"/v1/key/create/minio-*", "/v1/key/decrypt/minio-*", "/v1/key/generate/minio-*"}) {
		t.Errorf("kes policy show minio against kmsbox printed %q, want the allow list of MinIO's --dev policy", out)
	}

	c.ok(t, kes, "key", "rm", "cli-key")
	if got := parseKESTable(t, c.ok(t, kes, "key", "ls"), "Key"); !slices.Equal(got, []string{"minio-key-1"}) {
		t.Errorf("kes key ls against kmsbox after kes key rm cli-key = %q, want [minio-key-1]", got)
	}
}

// sealedVault seals kmsbox#1's vault under all three KES servers, then unseals it. The real
// KES and kmsbox#2 fail the same way on keys they must read from the store; kmsbox's KESs
// serve again as soon as the vault is unsealed (the real KES waits for its next status
// probe, up to 10 s: not waited for here).
func (r *realKESRig) sealedVault(t *testing.T) {
	// Keys the other server never loaded, so that no key cache answers for the store. (Each
	// of the real KES's three failing calls takes some 4 s: its Vault client retries 503s.)
	r.realCLI.ok(t, r.kesBin, "key", "create", "seal-probe-real")
	r.box.call(t, http.MethodPost, "/v1/key/create/seal-probe-kmsbox", nil, http.StatusOK)
	if err := r.vault.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		peer   kesPeer
		unseen string
	}{{r.real, "seal-probe-kmsbox"}, {r.box, "seal-probe-real"}} {
		k.peer.fails(t, r.admin, "GET", "/v1/key/describe/"+k.unseen, nil, 502, "failed to read key")
		k.peer.fails(t, r.admin, "POST", "/v1/key/create/sealed-1", nil, 502, "failed to create key")
		k.peer.fails(t, r.admin, "GET", "/v1/key/list/*", nil, 502, "failed to list keys")
		// A sealed vault is a key store that is not reachable, for both.
		k.peer.fails(t, r.admin, "GET", "/v1/ready", nil, 504, "key store is not reachable")
	}
	// Both statuses say the store is unreachable; kmsbox adds keystore_unavailable, which
	// the kes CLI needs to print a status at all (see below).
	var st map[string]any
	r.real.do(t, http.MethodGet, "/v1/status", nil, &st)
	if st["keystore_unreachable"] != true {
		t.Errorf("%s: /v1/status with the vault sealed = %v, want keystore_unreachable", r.real.name, st)
	}
	st = nil
	r.box.do(t, http.MethodGet, "/v1/status", nil, &st)
	if st["keystore_unreachable"] != true || st["keystore_unavailable"] != true {
		t.Errorf("%s: /v1/status with the vault sealed = %v, want keystore_unreachable and keystore_unavailable", r.box.name, st)
	}
	// kmsbox#1's own KES, whose store is the sealed vault in-process, through the CLI. The
	// status says unreachable AND unavailable, so the CLI prints it (for the real KES it says
	// "kes: keystore is unreachable but not unavailable" and exits 1).
	own := r.ownCLI
	r.own.fails(t, r.own.c, "GET", "/v1/ready", nil, 504, "key store is not reachable")
	if res := own.fails(t, r.kesBin, "key", "ls"); res.code != 1 || strings.TrimSpace(res.stderr) != "Error: failed to list keys: failed to list keys" {
		t.Errorf("kes key ls against kmsbox with its vault sealed: exit %d, stderr %q; want 1 and \"Error: failed to list keys: failed to list keys\"", res.code, res.stderr)
	}
	st = nil
	if out := own.ok(t, r.kesBin, "status", "--json"); json.Unmarshal([]byte(out), &st) != nil || st["keystore_unreachable"] != true || st["keystore_unavailable"] != true {
		t.Errorf("kes status --json against kmsbox with its vault sealed printed %q, want keystore_unreachable and keystore_unavailable", out)
	}

	if s, err := r.vault.Sys().Unseal(r.srv.devUnsealKey(t)); err != nil || s.Sealed {
		t.Fatalf("unseal: %+v, %v", s, err)
	}
	r.box.call(t, http.MethodGet, "/v1/ready", nil, http.StatusOK)
	r.own.call(t, http.MethodGet, "/v1/ready", nil, http.StatusOK)
	want := []string{"kmsbox-key-1", "minio-key-1", "real-key-1", "seal-probe-kmsbox", "seal-probe-real"}
	if got := r.box.list(t, "*"); !slices.Equal(got, want) {
		t.Errorf("kmsbox#2 lists %q after the unseal, want %q", got, want)
	}
	r.box.decrypt(t, "seal-probe-real", r.box.generate(t, "seal-probe-real", nil), nil)
	if got := parseKESTable(t, own.ok(t, r.kesBin, "key", "ls"), "Key"); !slices.Equal(got, []string{"minio-key-1"}) {
		t.Errorf("kes key ls against kmsbox after the unseal = %q, want [minio-key-1]", got)
	}
}
