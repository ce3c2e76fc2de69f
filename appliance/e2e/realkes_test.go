//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

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
		case <-time.After(stopTimeout):
			t.Logf("the real KES still runs %v after SIGTERM; killing it", stopTimeout)
			x.Process.Kill()
			<-exited
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

// do sends a KES API request, fails unless the status is 200, and decodes the body into out.
func (k kesAPI) do(t testing.TB, method, path string, body, out any) {
	t.Helper()
	resp := k.call(t, method, path, body, http.StatusOK)
	if err := json.Unmarshal([]byte(resp), out); err != nil {
		t.Fatalf("%s: %s %s: %v in %q", k.name, method, path, err, resp)
	}
}

// generate asks for a data key of key name, bound to kesContext (none when nil).
func (k kesAPI) generate(t testing.TB, name string, kesContext []byte) dek {
	t.Helper()
	var d dek
	k.do(t, http.MethodPost, "/v1/key/generate/"+name, map[string][]byte{"context": kesContext}, &d)
	if len(d.Plaintext) != 32 || len(d.Ciphertext) == 0 {
		t.Fatalf("%s: generate %s: %d-byte plaintext, %d-byte ciphertext; want 32 and some", k.name, name, len(d.Plaintext), len(d.Ciphertext))
	}
	return d
}

// decrypt fails unless the ciphertext of d decrypts under key name and kesContext to d's
// plaintext.
func (k kesAPI) decrypt(t testing.TB, name string, d dek, kesContext []byte) {
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
	var l struct {
		Names []string `json:"names"`
	}
	k.do(t, http.MethodGet, "/v1/key/list/"+pattern, nil, &l)
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
	t.Logf("the real KES's entry holds the fields %q", slices.Sorted(maps.Keys(realEntry.Data)))

	// Step 6: a second kmsbox whose KES reads the same KES YAML (its own address; the same
	// TLS certificate, admin and key store): kmsbox's KES reaches the first kmsbox's vault over
	// HTTPS with AppRole, exactly as the real KES does, and both share the keys.
	conf2 := filepath.Join(work, "kes-kmsbox.yml")
	writeFile(t, conf2, kesYAML("127.0.0.1:0"))
	box2 := spawn(t, serverArgs(t.TempDir(), "--kes-config", conf2))
	box2.waitReady(t)
	box := kesAPI{name: "kmsbox#2 KES", url: box2.urls["kes"], c: admin}

	// A data key of the real KES decrypts through kmsbox, and kmsbox describes the key.
	d := real.generate(t, "real-key-1", nil)
	box.decrypt(t, "real-key-1", d, nil)
	var desc struct {
		Name      string `json:"name"`
		CreatedBy string `json:"created_by"`
	}
	box.do(t, http.MethodGet, "/v1/key/describe/real-key-1", nil, &desc)
	if desc.Name != "real-key-1" || desc.CreatedBy != adminID {
		t.Errorf("kmsbox describes the real KES's key as %+v, want name real-key-1 created_by %s", desc, adminID)
	}
	// And the other way: a key kmsbox creates is listed and usable by the real KES.
	box.call(t, http.MethodPost, "/v1/key/create/kmsbox-key-1", struct{}{}, http.StatusOK)
	// minio-key-1 is the key kmsbox#2's --dev seeds, in the key store it was given.
	shared := []string{"kmsbox-key-1", "minio-key-1", "real-key-1"}
	if got := kesList(t, realCLI.ok(t, kesBin, "key", "ls")); !slices.Equal(got, shared) {
		t.Fatalf("kes key ls on the real KES = %q, want %q", got, shared)
	}
	if got := box.list(t, "*"); !slices.Equal(got, shared) {
		t.Fatalf("kmsbox#2 lists %q, want %q", got, shared)
	}
	if got := vaultKeys(t, vc, "kv/realkes"); !slices.Equal(got, shared) {
		t.Fatalf("LIST kv/realkes on kmsbox's vault = %q, want %q", got, shared)
	}
	d = box.generate(t, "kmsbox-key-1", nil)
	real.decrypt(t, "kmsbox-key-1", d, nil)
	info = kesInfo(t, realCLI.ok(t, kesBin, "key", "info", "kmsbox-key-1"))
	if info["Name"] != "kmsbox-key-1" || info["Owner"] != adminID || info["Algorithm"] == "" {
		t.Errorf("kes key info kmsbox-key-1 on the real KES = %q, want Name kmsbox-key-1, Owner %s and an Algorithm", info, adminID)
	}

	// The real CLI's data key of the real KES decrypts through kmsbox, and the CLI decrypts
	// what kmsbox generated.
	var cliDEK dek
	if out := realCLI.ok(t, kesBin, "key", "dek", "real-key-1"); json.Unmarshal([]byte(out), &cliDEK) != nil || len(cliDEK.Plaintext) != 32 {
		t.Fatalf("kes key dek real-key-1 printed %q, want {\"plaintext\":...,\"ciphertext\":...}", out)
	}
	box.decrypt(t, "real-key-1", cliDEK, nil)
	out = realCLI.ok(t, kesBin, "key", "decrypt", "kmsbox-key-1", base64.StdEncoding.EncodeToString(d.Ciphertext))
	var pt struct {
		Plaintext []byte `json:"plaintext"`
	}
	if err := json.Unmarshal([]byte(out), &pt); err != nil || !bytes.Equal(pt.Plaintext, d.Plaintext) {
		t.Errorf("kes key decrypt on the real KES of kmsbox's ciphertext printed %q (%v), want {\"plaintext\":%q}", out, err, base64.StdEncoding.EncodeToString(d.Plaintext))
	}

	// Deleting through one makes the key unknown to the other. Each key is one the other
	// server never loaded (listing reads the store, not the cache).
	realCLI.ok(t, kesBin, "key", "create", "real-del-1")
	if got := box.list(t, "real"); !slices.Equal(got, []string{"real-del-1", "real-key-1"}) {
		t.Fatalf("kmsbox#2 lists real as %q, want [real-del-1 real-key-1]", got)
	}
	realCLI.ok(t, kesBin, "key", "rm", "real-del-1")
	if got := box.list(t, "real"); !slices.Equal(got, []string{"real-key-1"}) {
		t.Errorf("kmsbox#2 lists real as %q after the real KES deleted real-del-1, want [real-key-1]", got)
	}
	box.unknownKey(t, "real-del-1")
	box.call(t, http.MethodPost, "/v1/key/create/kmsbox-del-1", struct{}{}, http.StatusOK)
	if got := kesList(t, realCLI.ok(t, kesBin, "key", "ls", "kmsbox")); !slices.Equal(got, []string{"kmsbox-del-1", "kmsbox-key-1"}) {
		t.Fatalf("kes key ls kmsbox on the real KES = %q, want [kmsbox-del-1 kmsbox-key-1]", got)
	}
	box.call(t, http.MethodDelete, "/v1/key/delete/kmsbox-del-1", nil, http.StatusOK)
	r := realCLI.fails(t, kesBin, "key", "info", "kmsbox-del-1")
	if !strings.Contains(r.stderr, "key does not exist") {
		t.Errorf("kes key info of the key kmsbox deleted: stderr %q, want KES's \"key does not exist\"", r.stderr)
	}
	if got := kesList(t, realCLI.ok(t, kesBin, "key", "ls", "kmsbox")); !slices.Equal(got, []string{"kmsbox-key-1"}) {
		t.Errorf("kes key ls kmsbox on the real KES = %q after kmsbox deleted kmsbox-del-1, want [kmsbox-key-1]", got)
	}
	if got := vaultKeys(t, vc, "kv/realkes"); !slices.Equal(got, shared) {
		t.Errorf("LIST kv/realkes on kmsbox's vault = %q after both deletes, want %q", got, shared)
	}

	// Both servers answer the same requests the same way: status and KES's error body.
	// Known differences, left out here and reported: DELETE of a missing key (real KES 200,
	// kmsbox 404), list patterns "kmsbox-" (real 400, kmsbox 200) and "kmsbox-*" (real: no
	// names, kmsbox: the prefix), and /v1/api max_body 1000000 (real) vs 1048576 (kmsbox).
	stranger := httpsClient(t, pool, srv.env["MINIO_KMS_KES_CERT_FILE"], srv.env["MINIO_KMS_KES_KEY_FILE"])
	tampered := append([]byte(nil), d.Ciphertext...)
	tampered[0] ^= 1
	for _, rq := range []struct {
		method, path string
		body         any
		c            *http.Client
		status       int
		message      string
	}{
		{"GET", "/v1/key/describe/no-such-key", nil, admin, 404, "key does not exist"},
		{"POST", "/v1/key/create/real-key-1", nil, admin, 400, "key already exists"},
		{"POST", "/v1/key/create/kmsbox-key-1", nil, admin, 400, "key already exists"},
		{"POST", "/v1/key/generate/no-such-key", nil, admin, 404, "key does not exist"},
		{"POST", "/v1/key/decrypt/kmsbox-key-1", map[string][]byte{"ciphertext": tampered}, admin, 400, "decryption failed: ciphertext is not authentic"},
		{"POST", "/v1/key/decrypt/kmsbox-key-1", map[string][]byte{"ciphertext": d.Ciphertext, "context": []byte("ctx")}, admin, 400, "decryption failed: ciphertext is not authentic"},
		{"POST", "/v1/key/decrypt/real-key-1", map[string][]byte{"ciphertext": d.Ciphertext}, admin, 400, "decryption failed: ciphertext is not authentic"},
		{"POST", "/v1/key/decrypt/kmsbox-key-1", map[string][]byte{"ciphertext": []byte("short")}, admin, 400, "decryption failed: ciphertext is not authentic"},
		{"POST", "/v1/key/decrypt/kmsbox-key-1", json.RawMessage(`{"ciphertext":"!!"}`), admin, 400, "invalid request body"},
		{"POST", "/v1/key/create/-bad", nil, admin, 400, "key name '-bad' is empty, too long or contains invalid characters"},
		{"GET", "/v1/key/create/x", nil, admin, 405, "received method 'GET' expected 'PUT'"},
		{"GET", "/v1/key/describe/real-key-1", nil, stranger, 403, "not authorized: insufficient permissions"},
		{"POST", "/v1/key/generate/kmsbox-key-1", nil, stranger, 403, "not authorized: insufficient permissions"},
	} {
		var body []byte
		if rq.body != nil {
			body, _ = json.Marshal(rq.body)
		}
		for _, k := range []kesAPI{real, box} {
			code, got := doStatus(t, rq.c, rq.method, k.url+rq.path, nil, body)
			var e map[string]string
			if err := json.Unmarshal([]byte(got), &e); err != nil || code != rq.status || len(e) != 1 || e["message"] != rq.message {
				t.Errorf("%s: %s %s %s = %d %q, want %d {\"message\":%q}", k.name, rq.method, rq.path, body, code, got, rq.status, rq.message)
			}
		}
	}

	// Encryption, HMAC and the caller's identity agree too: each server decrypts what the
	// other encrypted, with and without a context, and the HMACs are equal (same key bytes).
	for _, pair := range [][2]kesAPI{{real, box}, {box, real}} {
		from, to := pair[0], pair[1]
		for _, key := range []string{"real-key-1", "kmsbox-key-1"} {
			msg := []byte("sealed by " + from.name + " with " + key)
			var enc struct {
				Ciphertext []byte `json:"ciphertext"`
			}
			from.do(t, http.MethodPost, "/v1/key/encrypt/"+key, map[string][]byte{"plaintext": msg}, &enc)
			to.decrypt(t, key, dek{Plaintext: msg, Ciphertext: enc.Ciphertext}, nil)

			bound := []byte("bucket/object")
			g := from.generate(t, key, bound)
			to.decrypt(t, key, g, bound)
			if len(g.Ciphertext) != 76 {
				t.Errorf("%s: a data key of %s has a %d-byte ciphertext, want 76 (32 + 16 tag + 16 iv + 12 nonce)", from.name, key, len(g.Ciphertext))
			}
		}
	}
	for _, key := range []string{"real-key-1", "kmsbox-key-1"} {
		msg := map[string][]byte{"message": []byte("authenticate me")}
		if r, b := real.call(t, http.MethodPost, "/v1/key/hmac/"+key, msg, http.StatusOK), box.call(t, http.MethodPost, "/v1/key/hmac/"+key, msg, http.StatusOK); r != b {
			t.Errorf("HMAC under %s: real KES %s, kmsbox %s; want the same", key, r, b)
		}
	}
	selfOf := func(k kesAPI) (id string, isAdmin bool) {
		var self struct {
			Identity string `json:"identity"`
			Admin    bool   `json:"admin"`
		}
		k.do(t, http.MethodGet, "/v1/identity/self/describe", nil, &self)
		return self.Identity, self.Admin
	}
	for _, k := range []kesAPI{real, box} {
		if id, isAdmin := selfOf(k); id != adminID || !isAdmin {
			t.Errorf("%s: self describe = %s admin %v, want %s admin true", k.name, id, isAdmin, adminID)
		}
	}
	statusFields := func(k kesAPI) []string {
		var m map[string]any
		k.do(t, http.MethodGet, "/v1/status", nil, &m)
		return slices.Sorted(maps.Keys(m))
	}
	if r, b := statusFields(real), statusFields(box); !slices.Equal(r, b) {
		t.Errorf("/v1/status fields: real KES %q, kmsbox %q", r, b)
	}
	apiRoutes := func(k kesAPI) []string {
		var routes []struct {
			Method  string `json:"method"`
			Path    string `json:"path"`
			Timeout int    `json:"timeout"`
		}
		k.do(t, http.MethodGet, "/v1/api", nil, &routes)
		var l []string
		for _, r := range routes {
			l = append(l, fmt.Sprintf("%s %s %ds", r.Method, r.Path, r.Timeout))
		}
		slices.Sort(l)
		return l
	}
	if r, b := apiRoutes(real), apiRoutes(box); len(r) < 20 || !slices.Equal(r, b) {
		t.Errorf("/v1/api routes:\nreal KES %q\nkmsbox   %q", r, b)
	}

	// kmsbox#2's KES serves the certificate the shared config names (the pool holds it, not
	// kmsbox#2's own CA, so every request above already depended on it).
	conn, err := tls.Dial("tcp", box2.addr("kes"), &tls.Config{RootCAs: pool, Certificates: admin.Transport.(*http.Transport).TLSClientConfig.Certificates})
	if err != nil {
		t.Fatalf("TLS to kmsbox#2's KES with only the shared certificate trusted: %v", err)
	}
	if peer := conn.ConnectionState().PeerCertificates; len(peer) == 0 || !bytes.Equal(peer[0].Raw, readCert(t, srvCert).Raw) {
		t.Errorf("kmsbox#2's KES does not serve tls.cert %s of the shared config", srvCert)
	}
	conn.Close()

	// Step 7: the real kes CLI against kmsbox's own KES.
	ownCLI := cmd{dir: work, env: append(srv.envFor(t, []string{"KES_SERVER", "KES_CLIENT_CERT", "KES_CLIENT_KEY"}), "SSL_CERT_FILE="+srv.caFile())}
	status := scanLines(ownCLI.ok(t, kesBin, "status"))
	if len(status) < 3 || status[0] != "● "+srv.addr("kes") || !strings.HasPrefix(status[1], "Version") || !strings.HasPrefix(status[2], "Uptime") {
		t.Errorf("kes status against kmsbox printed %q, want \"● %s\", Version, Uptime, ...", status, srv.addr("kes"))
	}
	if got := kesList(t, ownCLI.ok(t, kesBin, "key", "ls")); !slices.Equal(got, []string{"minio-key-1"}) {
		t.Errorf("kes key ls against kmsbox = %q, want [minio-key-1]", got)
	}
	ownCLI.ok(t, kesBin, "key", "create", "cli-key")
	if r := ownCLI.fails(t, kesBin, "key", "create", "cli-key"); r.code != 1 || !strings.Contains(r.stderr, "key already exists") {
		t.Errorf("kes key create of an existing key against kmsbox: exit %d, stderr %q; want 1 and \"key already exists\"", r.code, r.stderr)
	}
	if got := kesList(t, ownCLI.ok(t, kesBin, "key", "ls")); !slices.Equal(got, []string{"cli-key", "minio-key-1"}) {
		t.Errorf("kes key ls against kmsbox = %q, want [cli-key minio-key-1]", got)
	}
	info = kesInfo(t, ownCLI.ok(t, kesBin, "key", "info", "cli-key"))
	if info["Name"] != "cli-key" || info["Algorithm"] != "AES256" || info["Owner"] != adminID {
		t.Errorf("kes key info cli-key against kmsbox = %q, want Name cli-key, Algorithm AES256, Owner %s", info, adminID)
	}
	var ownDEK dek
	if out := ownCLI.ok(t, kesBin, "key", "dek", "cli-key"); json.Unmarshal([]byte(out), &ownDEK) != nil || len(ownDEK.Plaintext) != 32 {
		t.Fatalf("kes key dek cli-key against kmsbox printed %q, want a 32-byte data key", out)
	}
	own := kesAPI{name: "kmsbox#1 KES", url: srv.urls["kes"], c: httpsClient(t, caPool(t, srv.caFile()), adminCert, adminKey)}
	own.decrypt(t, "cli-key", ownDEK, nil)
	out = ownCLI.ok(t, kesBin, "key", "decrypt", "cli-key", base64.StdEncoding.EncodeToString(ownDEK.Ciphertext))
	if err := json.Unmarshal([]byte(out), &pt); err != nil || !bytes.Equal(pt.Plaintext, ownDEK.Plaintext) {
		t.Errorf("kes key decrypt cli-key against kmsbox printed %q (%v), want the data key's plaintext", out, err)
	}
	r = ownCLI.fails(t, kesBin, "key", "info", "no-such-key")
	if r.code != 1 || strings.TrimSpace(r.stderr) != "Error: failed to describe keys: key does not exist" {
		t.Errorf("kes key info no-such-key against kmsbox: exit %d, stderr %q; want 1 and \"Error: failed to describe keys: key does not exist\"", r.code, r.stderr)
	}
	// The same failure from the real KES, for reference: the CLI must not tell them apart.
	if rr := realCLI.fails(t, kesBin, "key", "info", "no-such-key"); rr.code != r.code || rr.stderr != r.stderr {
		t.Errorf("kes key info no-such-key: real KES exit %d %q, kmsbox exit %d %q", rr.code, rr.stderr, r.code, r.stderr)
	}
	ownCLI.ok(t, kesBin, "key", "rm", "cli-key")
	if got := kesList(t, ownCLI.ok(t, kesBin, "key", "ls")); !slices.Equal(got, []string{"minio-key-1"}) {
		t.Errorf("kes key ls against kmsbox after kes key rm cli-key = %q, want [minio-key-1]", got)
	}
}
