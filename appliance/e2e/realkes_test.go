//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"
)

// realKESBin returns the real KES binary (github.com/minio/kes, AGPL): a separate test peer
// process, never linked into kmsbox or its tests.
func realKESBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("KMSBOX_KES_BIN")
	if bin == "" {
		t.Fatal("KMSBOX_KES_BIN is not set: build it with `make bin/kes` and point KMSBOX_KES_BIN at it (`make e2e` does both)")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		t.Fatalf("KMSBOX_KES_BIN: %v (build it with `make bin/kes`)", err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("KMSBOX_KES_BIN=%s is not an executable file (build it with `make bin/kes`)", abs)
	}
	return abs
}

// freeAddr returns a loopback address with a port that was free a moment ago: the real KES
// takes its address from the config file, so the port must be known before it starts.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// startRealKES runs `kes server --config file` and returns when the server says it is up,
// with its output. It is stopped with SIGTERM (killed if it lingers) at cleanup.
func startRealKES(t testing.TB, bin, config string) *lineLog {
	t.Helper()
	out := newLineLog()
	x := exec.Command(bin, "server", "--config", config)
	x.Env = baseEnv(t.TempDir())
	x.Dir = filepath.Dir(config)
	x.Stdout, x.Stderr = out, out // one writer: exec serializes the writes
	if err := x.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		x.Wait()
		out.close()
		close(exited)
	}()
	t.Cleanup(func() {
		x.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-t.Context().Done():
		}
		select {
		case <-exited:
		default:
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			defer cancel()
			select {
			case <-exited:
			case <-ctx.Done():
				x.Process.Kill()
				<-exited
			}
		}
		if t.Failed() {
			t.Logf("real kes output:\n%s", out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, _, err := out.waitFor(ctx, 0, func(l string) bool { return strings.Contains(l, "Server is up and running") }); err != nil {
		t.Fatalf("the real KES never said it is up: %v\noutput:\n%s", err, out)
	}
	return out
}

// kesList parses the table of `kes key ls`: a "Key" header and one name a line.
func kesList(t testing.TB, out string) []string {
	t.Helper()
	lines := scanLines(out)
	if len(lines) == 0 || lines[0] != "Key" {
		t.Fatalf("kes key ls printed %q, want a Key header and one name a line", out)
	}
	return lines[1:]
}

// kesInfo parses `kes key info`: "Name  x", "Algorithm  y", ... one field a line.
func kesInfo(t testing.TB, out string) map[string]string {
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

// dek is a data key as KES returns it from /v1/key/generate and `kes key dek`.
type dek struct {
	Plaintext  []byte `json:"plaintext"`
	Ciphertext []byte `json:"ciphertext"`
}

// kesAPI is one KES server's HTTP API seen by a client with an identity.
type kesAPI struct {
	name string // for messages
	url  string
	c    *http.Client
}

// call sends a KES API request and fails unless the status is want; it returns the body.
func (k kesAPI) call(t testing.TB, method, path string, body any, want int) string {
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

// generate asks for a data key of key name.
func (k kesAPI) generate(t testing.TB, name string) dek {
	t.Helper()
	var d dek
	if err := json.Unmarshal([]byte(k.call(t, http.MethodPost, "/v1/key/generate/"+name, struct{}{}, http.StatusOK)), &d); err != nil {
		t.Fatalf("%s: generate %s: %v", k.name, name, err)
	}
	if len(d.Plaintext) != 32 || len(d.Ciphertext) == 0 {
		t.Fatalf("%s: generate %s: %d-byte plaintext, %d-byte ciphertext; want 32 and some", k.name, name, len(d.Plaintext), len(d.Ciphertext))
	}
	return d
}

// decrypt fails unless the ciphertext of d decrypts under key name to d's plaintext.
func (k kesAPI) decrypt(t testing.TB, name string, d dek) {
	t.Helper()
	var got struct {
		Plaintext []byte `json:"plaintext"`
	}
	body := k.call(t, http.MethodPost, "/v1/key/decrypt/"+name, map[string][]byte{"ciphertext": d.Ciphertext}, http.StatusOK)
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%s: decrypt %s: %v in %s", k.name, name, err, body)
	}
	if !bytes.Equal(got.Plaintext, d.Plaintext) {
		t.Fatalf("%s: decrypt %s gave %x, want %x", k.name, name, got.Plaintext, d.Plaintext)
	}
}

// unknownKey fails unless describing key name says the key does not exist, as KES does.
func (k kesAPI) unknownKey(t testing.TB, name string) {
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
func (k kesAPI) list(t testing.TB, pattern string) []string {
	t.Helper()
	body := k.call(t, http.MethodGet, "/v1/key/list/"+pattern, nil, http.StatusOK)
	var l struct {
		Names []string `json:"names"`
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatalf("%s: list %s: %v in %s", k.name, pattern, err, body)
	}
	slices.Sort(l.Names)
	return l.Names
}

// realKESVault does the guide's step 3 on kmsbox's Vault API: a K/V v1 engine at kv/, AppRole,
// a policy for kv/<prefix>/* and a role; it returns the role ID and a secret ID.
func realKESVault(t testing.TB, vc *vaultapi.Client, prefix string) (roleID, secretID string) {
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

// vaultKeys lists kv/<prefix>/ on the vault, sorted; none when the path holds nothing.
func vaultKeys(t testing.TB, vc *vaultapi.Client, path string) []string {
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

// TestRealKES runs the real KES (v0.24) against kmsbox: the real server keeps its keys in
// kmsbox's vault over HTTPS with AppRole; a second kmsbox, configured with the same KES YAML,
// shares those keys both ways; and the real kes CLI drives kmsbox's own KES API.
func TestRealKES(t *testing.T) {
	kesBin := realKESBin(t)
	bin := kmsboxBin(t)
	srv := startServer(t, t.TempDir())
	work := t.TempDir()

	vcfg := vaultapi.DefaultConfig()
	vcfg.Address = srv.env["VAULT_ADDR"]
	if err := vcfg.ConfigureTLS(&vaultapi.TLSConfig{CACert: srv.env["VAULT_CACERT"]}); err != nil {
		t.Fatal(err)
	}
	vc, err := vaultapi.NewClient(vcfg)
	if err != nil {
		t.Fatal(err)
	}
	vc.SetToken(srv.env["VAULT_TOKEN"])
	roleID, secretID := realKESVault(t, vc, "realkes")

	// The real KES's server certificate, from the real CLI; its identity as both tools see it.
	plain := cmd{dir: work, env: baseEnv(t.TempDir())}
	srvKey, srvCert := filepath.Join(work, "srv.key"), filepath.Join(work, "srv.crt")
	out := plain.ok(t, kesBin, "identity", "new", "--ip", "127.0.0.1", "--key", srvKey, "--cert", srvCert, "localhost")
	srvID := strings.TrimSpace(plain.ok(t, kesBin, "identity", "of", srvCert))
	if want := kesIdentity(readCert(t, srvCert)); srvID != want || !strings.Contains(out, want) {
		t.Fatalf("kes identity of %s = %q, want %s (also in the output of identity new:\n%s)", srvCert, srvID, want, out)
	}
	if got := strings.TrimSpace(plain.ok(t, bin, "identity", "of", srvCert)); got != srvID {
		t.Errorf("kmsbox identity of the real KES's certificate = %q, kes says %q", got, srvID)
	}
	adminCert, adminKey := srv.env["KES_CLIENT_CERT"], srv.env["KES_CLIENT_KEY"]
	adminID := strings.TrimSpace(plain.ok(t, bin, "identity", "of", adminCert))
	if kesID := strings.TrimSpace(plain.ok(t, kesBin, "identity", "of", adminCert)); adminID != kesID || adminID != kesIdentity(readCert(t, adminCert)) {
		t.Fatalf("identity of kmsbox's admin cert: kmsbox %q, kes %q, want both %s", adminID, kesID, kesIdentity(readCert(t, adminCert)))
	}

	// The real KES with its keys in kmsbox's vault (the guide's step 4 config, as YAML).
	kesAddr := freeAddr(t)
	kesYAML := func(addr string) []byte {
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
`, addr, adminID, srvKey, srvCert, srv.env["VAULT_ADDR"], roleID, secretID, srv.env["VAULT_CACERT"])
	}
	conf := filepath.Join(work, "kes.yml")
	writeFile(t, conf, kesYAML(kesAddr))
	startRealKES(t, kesBin, conf)

	// Clients trust kmsbox's CA and the real KES's self-signed certificate, nothing else:
	// the kes CLI through SSL_CERT_FILE (no --insecure), Go through the pool.
	trust := filepath.Join(work, "trust.pem")
	caPEM, _ := os.ReadFile(srv.caFile())
	certPEM, _ := os.ReadFile(srvCert)
	writeFile(t, trust, append(append(caPEM, '\n'), certPEM...))
	pool := caPool(t, trust)
	admin := httpsClient(t, pool, adminCert, adminKey)
	realURL := "https://" + kesAddr
	real := kesAPI{name: "real KES", url: realURL, c: admin}
	realCLI := cmd{dir: work, env: append(baseEnv(t.TempDir()), "KES_SERVER="+realURL,
		"KES_CLIENT_CERT="+adminCert, "KES_CLIENT_KEY="+adminKey, "SSL_CERT_FILE="+trust)}

	// Step 5: the real CLI against the real KES; the key lands in kmsbox's vault.
	realCLI.ok(t, kesBin, "key", "create", "real-key-1")
	if got := kesList(t, realCLI.ok(t, kesBin, "key", "ls")); !slices.Equal(got, []string{"real-key-1"}) {
		t.Fatalf("kes key ls on the real KES = %q, want [real-key-1]", got)
	}
	info := kesInfo(t, realCLI.ok(t, kesBin, "key", "info", "real-key-1"))
	if info["Name"] != "real-key-1" || info["Owner"] != adminID || info["Algorithm"] == "" {
		t.Fatalf("kes key info real-key-1 on the real KES = %q, want Name real-key-1, Owner %s and an Algorithm", info, adminID)
	}
	if got := vaultKeys(t, vc, "kv/realkes"); !slices.Equal(got, []string{"real-key-1"}) {
		t.Fatalf("LIST kv/realkes on kmsbox's vault = %q, want [real-key-1]", got)
	}
	realEntry, err := vc.Logical().Read("kv/realkes/real-key-1")
	if err != nil || realEntry == nil || len(realEntry.Data) == 0 {
		t.Fatalf("READ kv/realkes/real-key-1 on kmsbox's vault = %v, %v; want the real KES's key entry", realEntry, err)
	}
	_ = real
	t.Logf("the real KES's entry holds the fields %q", slices.Sorted(maps.Keys(realEntry.Data)))
}

var _ = base64.StdEncoding
var _ = errors.New
var _ = strconv.Itoa
