package kescore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/kms-go/kes"
)

var timeRE = regexp.MustCompile(`"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)"`)

// TestWireGolden pins status, content type, headers and body of responses.
func TestWireGolden(t *testing.T) {
	e := newEnv(t, nil)
	e.store.keys["legacy"] = []byte(`{"bytes":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="}`)
	admin := e.httpClient(e.admin)
	minio := e.httpClient(e.minio)
	other := e.httpClient(e.other)
	plain := &http.Client{Transport: &http.Transport{}, CheckRedirect: admin.CheckRedirect}

	tests := []struct {
		name   string
		client *http.Client
		method string
		path   string
		body   string
	}{
		{"version", admin, "GET", "/version", ""},
		{"api", admin, "GET", "/v1/api", ""},
		{"create", admin, "PUT", "/v1/key/create/my-key", ""},
		{"create-post", admin, "POST", "/v1/key/create/my-key-2", ""},
		{"create-exists", admin, "POST", "/v1/key/create/my-key", ""},
		{"create-bad-name", admin, "POST", "/v1/key/create/-bad-", ""},
		{"create-empty-name", admin, "POST", "/v1/key/create/", ""},
		{"create-wrong-method", admin, "GET", "/v1/key/create/my-key", ""},
		{"describe-missing", admin, "GET", "/v1/key/describe/nope", ""},
		{"list-redirect", admin, "GET", "/v1/key/list", ""},
		{"list-all", admin, "GET", "/v1/key/list/", ""},
		{"list-prefix", admin, "GET", "/v1/key/list/my-key-*", ""},
		{"list-bad-pattern", admin, "GET", "/v1/key/list/a.b", ""},
		{"list-trailing-dash", admin, "GET", "/v1/key/list/my-", ""},
		{"policy-list-trailing-dash", admin, "GET", "/v1/policy/list/mi-", ""},
		{"identity-list-leading-dash", admin, "GET", "/v1/identity/list/-a*", ""},
		{"generate-bad-body", admin, "PUT", "/v1/key/generate/my-key", "{"},
		{"decrypt-empty-body", admin, "PUT", "/v1/key/decrypt/my-key", ""},
		{"decrypt-garbage", admin, "PUT", "/v1/key/decrypt/my-key", `{"ciphertext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`},
		{"decrypt-not-base64", admin, "PUT", "/v1/key/decrypt/my-key", `{"ciphertext":"!!"}`},
		{"hmac-legacy-key", admin, "PUT", "/v1/key/hmac/legacy", `{"message":"AA=="}`},
		{"import-bad-cipher", admin, "PUT", "/v1/key/import/imp", `{"key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","cipher":"DES"}`},
		{"import-bad-size", admin, "PUT", "/v1/key/import/imp", `{"key":"AAAA","cipher":"AES256"}`},
		{"import-bad-body", admin, "PUT", "/v1/key/import/imp", `[]`},
		{"import-too-large", admin, "PUT", "/v1/key/import/imp", `{"key":"` + strings.Repeat("A", 2<<20) + `"}`},
		{"describe-legacy", admin, "GET", "/v1/key/describe/legacy", ""},
		{"policy-read", admin, "GET", "/v1/policy/read/minio", ""},
		{"policy-describe", admin, "GET", "/v1/policy/describe/minio", ""},
		{"policy-missing", admin, "GET", "/v1/policy/read/nope", ""},
		{"policy-list", admin, "GET", "/v1/policy/list/*", ""},
		{"identity-list", admin, "GET", "/v1/identity/list/", ""},
		{"identity-describe", admin, "GET", "/v1/identity/describe/" + e.minio.id, ""},
		{"identity-describe-admin", admin, "GET", "/v1/identity/describe/" + e.admin.id, ""},
		{"identity-missing", admin, "GET", "/v1/identity/describe/abc", ""},
		{"self-minio", minio, "GET", "/v1/identity/self/describe", ""},
		{"self-admin", admin, "GET", "/v1/identity/self/describe", ""},
		{"minio-create-denied", minio, "PUT", "/v1/key/create/my-key-3", ""},
		{"unknown-identity", other, "GET", "/v1/status", ""},
		{"plain-http", plain, "GET", "/v1/status", ""},
		{"delete", admin, "DELETE", "/v1/key/delete/my-key-2", ""},
		{"delete-missing", admin, "DELETE", "/v1/key/delete/my-key-2", ""},
		{"not-found-path", admin, "GET", "/v1/nothing", ""},
		{"traversal-redirected", minio, "DELETE", "/v1/key/delete/minio-x/../../create/minio-y", ""},
		{"escaped-slash", minio, "PUT", "/v1/key/create/minio-%2F..%2F..%2Fdelete%2Fmy-key", ""},
	}
	var out strings.Builder
	for _, tc := range tests {
		url := e.url + tc.path
		if tc.client == plain {
			// The TLS listener answers plain HTTP itself; hit the handler
			// directly to see kescore's own answer.
			rec := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			fmt.Fprintf(&out, "== %s %s %s\n%d %s\n%s\n", tc.name, tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
			continue
		}
		req, err := http.NewRequest(tc.method, url, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := tc.client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		extra := ""
		if a := resp.Header.Get("Accept"); a != "" {
			extra = " Accept=" + a
		}
		if l := resp.Header.Get("Location"); l != "" {
			extra += " Location=" + l
		}
		b := timeRE.ReplaceAllString(string(body), `"<time>"`)
		fmt.Fprintf(&out, "== %s %s %s\n%d %s%s\n%s\n", tc.name, tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), extra, strings.TrimSuffix(b, "\n"))
	}
	golden(t, "wire.txt", []byte(out.String()))
}

// TestClientCertRules covers the identity rules with crafted TLS states.
func TestClientCertRules(t *testing.T) {
	e := newEnv(t, nil)
	ca := e.admin.cert.Leaf
	caCopy := *ca
	caCopy.IsCA = true
	for _, tc := range []struct {
		name  string
		state *tls.ConnectionState
		code  int
		msg   string
	}{
		{"no-cert", &tls.ConnectionState{}, 400, "tls: client certificate is required"},
		{"two-certs", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{e.admin.cert.Leaf, e.minio.cert.Leaf}}, 400, "tls: received more than one client certificate"},
		{"ca-skipped", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{e.minio.cert.Leaf, &caCopy}}, 403, "not authorized: insufficient permissions"},
		{"ca-only", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{&caCopy}}, 400, "tls: client certificate is required"},
		{"admin", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{e.admin.cert.Leaf}}, 200, ""},
	} {
		r := httptest.NewRequest("GET", "/v1/ready", nil)
		r.TLS = tc.state
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, r)
		var body struct{ Message string }
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tc.code || body.Message != tc.msg {
			t.Errorf("%s: %d %q, want %d %q", tc.name, rec.Code, body.Message, tc.code, tc.msg)
		}
	}
}

func TestVerifyClientCerts(t *testing.T) {
	admin := newIdentity(t, adminSeed, "admin")
	pool := x509.NewCertPool()
	pool.AddCert(admin.cert.Leaf) // self-signed: its own root
	e := newEnv(t, func(c *Config) { c.VerifyClientCerts = true; c.ClientCAs = pool })
	if _, err := e.client(e.admin).Status(ctx(t)); err != nil {
		t.Fatalf("trusted cert: %v", err)
	}
	if err := e.client(e.minio).CreateKey(ctx(t), "minio-x"); err == nil {
		t.Fatal("untrusted cert accepted")
	} else if kerr, ok := err.(kes.Error); !ok || kerr.Status() != 400 {
		t.Fatalf("untrusted cert: %v", err)
	}
}

// TestStoreDown: a sealed (unavailable) or unreachable store makes status
// and ready report it and key operations fail, then everything recovers.
func TestStoreDown(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(e.admin)
	if err := c.CreateKey(ctx(t), "k"); err != nil {
		t.Fatal(err)
	}
	dek, err := c.GenerateKey(ctx(t), "k", nil) // now cached
	if err != nil {
		t.Fatal(err)
	}
	for _, down := range []struct {
		err   error
		ready int
		msg   string
	}{
		{fmt.Errorf("vault sealed: %w", ErrStoreUnavailable), 502, "key store is unavailable"},
		{fmt.Errorf("dial: %w", ErrStoreUnreachable), 504, "key store is not reachable"},
	} {
		e.store.SetDown(down.err)
		st, err := c.Status(ctx(t))
		if err != nil || st.KeyStoreReachable || st.KeystoreAvailable {
			t.Fatalf("status while down: %+v %v", st, err)
		}
		ready, err := c.IsReady(ctx(t))
		var kerr kes.Error
		if ready || !errors.As(err, &kerr) || kerr.Status() != down.ready || kerr.Error() != down.msg {
			t.Fatalf("ready while down: %v %v", ready, err)
		}
		if err := e.srv.Ready(ctx(t)); !errors.Is(err, down.err) && !errors.Is(err, ErrStoreUnavailable) {
			t.Fatalf("Ready(): %v", err)
		}
		_, err = e.srv.Decrypt(ctx(t), "k", dek.Ciphertext, nil)
		if !errors.Is(err, ErrStoreUnavailable) && !errors.Is(err, ErrStoreUnreachable) {
			t.Fatalf("in-process decrypt while down: %v", err)
		}
		for name, op := range map[string]func() error{
			"generate": func() error { _, err := c.GenerateKey(ctx(t), "k", nil); return err },
			"decrypt":  func() error { _, err := c.Decrypt(ctx(t), "k", dek.Ciphertext, nil); return err },
			"create":   func() error { return c.CreateKey(ctx(t), "k2") },
			"list":     func() error { _, _, err := c.ListKeys(ctx(t), "", 0); return err },
		} {
			err := op()
			if !errors.As(err, &kerr) || kerr.Status() != http.StatusBadGateway || !strings.HasPrefix(kerr.Error(), "failed to") {
				t.Fatalf("%s while down: %v", name, err)
			}
		}
		e.store.SetDown(nil)
		if ready, err := c.IsReady(ctx(t)); !ready || err != nil {
			t.Fatalf("ready after recovery: %v %v", ready, err)
		}
		p, err := c.Decrypt(ctx(t), "k", dek.Ciphertext, nil)
		if err != nil || string(p) != string(dek.Plaintext) {
			t.Fatalf("decrypt after recovery: %v", err)
		}
	}
}

// TestOfflineCache: with cache.expiry.offline set, cached keys keep
// serving while the store is down.
func TestOfflineCache(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Cache.ExpiryOffline = time.Hour })
	c := e.client(e.admin)
	if err := c.CreateKey(ctx(t), "k"); err != nil {
		t.Fatal(err)
	}
	dek, err := c.GenerateKey(ctx(t), "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.store.SetDown(ErrStoreUnreachable)
	if ready, _ := c.IsReady(ctx(t)); ready {
		t.Fatal("ready while down")
	}
	if p, err := c.Decrypt(ctx(t), "k", dek.Ciphertext, nil); err != nil || string(p) != string(dek.Plaintext) {
		t.Fatalf("offline decrypt: %v", err)
	}
	if _, err := c.GenerateKey(ctx(t), "uncached", nil); err == nil {
		t.Fatal("uncached key served while down")
	}
}

// notifyStore reports each name it creates on created.
type notifyStore struct {
	*MemKeyStore
	created chan string
}

func (s notifyStore) Create(ctx context.Context, name string, value []byte) error {
	err := s.MemKeyStore.Create(ctx, name, value)
	if err == nil {
		s.created <- name
	}
	return err
}

func TestConfiguredKeys(t *testing.T) {
	store := notifyStore{NewMemKeyStore(), make(chan string, 1)}
	store.SetDown(ErrStoreUnavailable)
	srv, err := Open(context.Background(), Config{Store: store, Keys: []string{"minio-key-1"}, ProbeInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	store.mu.Lock()
	n := len(store.keys)
	store.mu.Unlock()
	if n != 0 {
		t.Fatal("key created while the store was down")
	}
	store.SetDown(nil) // the next probe creates the pending key
	select {
	case name := <-store.created:
		if name != "minio-key-1" {
			t.Fatalf("created %q", name)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("configured key not created after the store came back")
	}
}

func TestLogStreams(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(e.admin)
	audit, err := c.AuditLog(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	errs, err := c.ErrorLog(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	e.store.SetDown(ErrStoreUnavailable)
	if ready, _ := c.IsReady(ctx(t)); ready {
		t.Fatal("ready")
	}
	if !audit.Next() {
		t.Fatalf("audit: %v", audit.Close())
	}
	ev := audit.Event()
	if ev.APIPath == "" || ev.ClientIdentity.String() != e.admin.id {
		t.Fatalf("audit event: %+v", ev)
	}
	if !errs.Next() || !strings.Contains(errs.Event().Message, "key store is unavailable") {
		t.Fatalf("error event: %+v", errs.Event())
	}
	// Close ends the streams.
	e.srv.Close()
	for audit.Next() {
	}
	for errs.Next() {
	}
}

func TestValidate(t *testing.T) {
	err := (&Config{
		Admin: "a",
		Policies: map[string]Policy{
			"bad name": {},
			"p1":       {Identities: []string{"a", "x"}},
			"p2":       {Identities: []string{"x"}, Allow: []string{""}},
		},
		Keys: []string{"-k"},
	}).Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"Store is required", "policy name 'bad name'", "admin identity", "already has policy", "empty path pattern", "key name '-k'"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/v1/key/create/minio-*", "/v1/key/create/minio-key-1", true},
		{"/v1/key/create/minio-*", "/v1/key/create/my-key-1", false},
		{"/v1/*", "/v1/key/create/a", true},
		{"/v1/status", "/v1/status", true},
		{"/v1/status", "/v1/status/", false},
		{"", "", false},
		{"*", "/anything", true},
	} {
		if got := matchPattern(tc.pattern, tc.path); got != tc.want {
			t.Errorf("match(%q,%q)=%v", tc.pattern, tc.path, got)
		}
	}
}

// FuzzRequestBodies sends arbitrary bodies to every body-taking endpoint:
// the answer is a KES status, never a 5xx, and no key is lost.
func FuzzRequestBodies(f *testing.F) {
	e := newEnv(f, nil)
	if err := e.srv.CreateKey(ctx(f), "k"); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{}`, `{"context":"AA=="}`, `{"ciphertext":"AAAA","context":null}`, `{"key":"AAAA","cipher":"AES256"}`, `{"message":"AA=="}`, `[`, `null`} {
		f.Add(s)
	}
	paths := []string{"/v1/key/generate/k", "/v1/key/encrypt/k", "/v1/key/decrypt/k", "/v1/key/hmac/k", "/v1/key/import/fuzz"}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range paths {
			r := httptest.NewRequest("PUT", p, strings.NewReader(body))
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{e.admin.cert.Leaf}}
			rec := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(rec, r)
			if rec.Code >= 500 {
				t.Fatalf("%s %q: %d %s", p, body, rec.Code, rec.Body)
			}
			if rec.Code != 200 && !strings.HasPrefix(rec.Body.String(), `{"message":`) {
				t.Fatalf("%s: error body %q", p, rec.Body)
			}
		}
		if _, ok := e.store.keys["k"]; !ok {
			t.Fatal("key lost")
		}
		delete(e.store.keys, "fuzz")
	})
}

// TestGenerateBodyOptional: generate takes no body, an empty one, a
// chunked empty one, or {"context":...}.
func TestGenerateBodyOptional(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.srv.CreateKey(ctx(t), "k"); err != nil {
		t.Fatal(err)
	}
	hc := e.httpClient(e.admin)
	for name, body := range map[string]io.Reader{
		"none":    nil,
		"empty":   strings.NewReader(""),
		"chunked": io.MultiReader(strings.NewReader("")), // unknown length: sent chunked
		"context": strings.NewReader(`{"context":"YWJj"}`),
	} {
		req, _ := http.NewRequest("POST", e.url+"/v1/key/generate/k", body)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Plaintext, Ciphertext []byte }
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || len(out.Plaintext) != 32 {
			t.Fatalf("%s: %d %v", name, resp.StatusCode, err)
		}
		assoc := []byte(nil)
		if name == "context" {
			assoc = []byte("abc")
		}
		if p, err := e.srv.Decrypt(ctx(t), "k", out.Ciphertext, assoc); err != nil || string(p) != string(out.Plaintext) {
			t.Fatalf("%s: decrypt: %v", name, err)
		}
	}
}

func TestRouteOverridesAndAuditLog(t *testing.T) {
	var audit strings.Builder
	e := newEnv(t, func(c *Config) {
		c.Routes = map[string]RouteConfig{"/v1/metrics": {SkipAuth: true}, "/v1/key/list": {Timeout: time.Second}}
		c.AuditLog = &audit
	})
	// Unknown identity and even no certificate may read the metrics now.
	for name, state := range map[string]*tls.ConnectionState{
		"no-cert": {},
		"unknown": {PeerCertificates: []*x509.Certificate{e.other.cert.Leaf}},
	} {
		r := httptest.NewRequest("GET", "/v1/metrics", nil)
		r.TLS = state
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, r)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "kes_http_request_success") {
			t.Fatalf("%s: %d", name, rec.Code)
		}
	}
	// Other routes still require authorization.
	r := httptest.NewRequest("GET", "/v1/status", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{e.other.cert.Leaf}}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, r)
	if rec.Code != 403 {
		t.Fatalf("status: %d", rec.Code)
	}
	var found bool
	for _, rt := range e.srv.table {
		if rt.Path == pathKeyList && rt.Timeout == time.Second {
			found = true
		}
	}
	if !found {
		t.Fatal("timeout override not applied")
	}
	lines := strings.Split(strings.TrimSpace(audit.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("audit lines: %q", lines)
	}
	var ev struct {
		Request struct {
			Path, Identity string
		}
		Response struct{ Code int }
	}
	if err := json.Unmarshal([]byte(lines[2]), &ev); err != nil || ev.Request.Path != "/v1/status" || ev.Response.Code != 403 || ev.Request.Identity != e.other.id {
		t.Fatalf("audit line %q: %v", lines[2], err)
	}
	if err := (&Config{Store: e.store, Routes: map[string]RouteConfig{"/v1/nope": {}}}).Validate(); err == nil || !strings.Contains(err.Error(), "unknown API path '/v1/nope'") {
		t.Fatalf("validate: %v", err)
	}
}

// TestBodyLimit: the 1 MB body limit of import, generate, encrypt, decrypt
// and HMAC is KES's decimal one (1000000 bytes): a body of exactly that size
// is read, one more byte is an invalid body, and /v1/api reports the limit.
func TestBodyLimit(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.srv.CreateKey(ctx(t), "k"); err != nil {
		t.Fatal(err)
	}
	hc := e.httpClient(e.admin)
	const limit = 1_000_000
	// {"plaintext":"..."} is 16 bytes around the base64 text.
	full := `{"plaintext":"` + strings.Repeat("AAAA", (limit-16)/4) + `"}`
	if len(full) != limit {
		t.Fatalf("test body is %d bytes, want %d", len(full), limit)
	}
	for _, tc := range []struct {
		body   string
		status int
	}{
		{full, http.StatusOK},
		{" " + full, http.StatusBadRequest}, // valid JSON, one byte too long
	} {
		req, _ := http.NewRequest("PUT", e.url+"/v1/key/encrypt/k", strings.NewReader(tc.body))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.status != http.StatusOK && strings.TrimSpace(string(body)) != `{"message":"invalid request body"}`) {
			t.Errorf("encrypt with a %d-byte body = %d %.80s, want %d", len(tc.body), resp.StatusCode, body, tc.status)
		}
	}

	resp, err := hc.Get(e.url + "/v1/api")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var api []struct {
		Path    string `json:"path"`
		MaxBody int64  `json:"max_body"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&api); err != nil {
		t.Fatal(err)
	}
	limited := 0
	for _, a := range api {
		switch a.MaxBody {
		case 0:
		case limit:
			limited++
		default:
			t.Errorf("/v1/api: %s has max_body %d, want 0 or %d", a.Path, a.MaxBody, limit)
		}
	}
	if limited != 5 {
		t.Errorf("/v1/api lists %d routes with max_body %d, want 5 (import, generate, encrypt, decrypt, hmac)", limited, limit)
	}
}

// TestBodyLimitPadded: a body whose JSON ends early but which goes on past the 1 MB
// limit is refused too, not decoded and applied: the import stores nothing.
func TestBodyLimitPadded(t *testing.T) {
	e := newEnv(t, nil)
	hc := e.httpClient(e.admin)
	doc := `{"key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","cipher":"AES256"}`
	for _, tc := range []struct {
		name   string
		size   int
		status int
	}{
		{"padded-to-limit", 1_000_000, http.StatusOK},
		{"padded-past-limit", 1_000_001, http.StatusBadRequest},
	} {
		body := doc + strings.Repeat(" ", tc.size-len(doc))
		req, _ := http.NewRequest("PUT", e.url+"/v1/key/import/"+tc.name, strings.NewReader(body))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: import = %d %s, want %d", tc.name, resp.StatusCode, msg, tc.status)
		}
		e.store.mu.Lock()
		_, stored := e.store.keys[tc.name]
		e.store.mu.Unlock()
		if stored != (tc.status == http.StatusOK) {
			t.Errorf("%s: key stored = %v after %d", tc.name, stored, resp.StatusCode)
		}
	}
}

// TestValidPattern: listing patterns follow the name rules with an optional
// last '*', as KES checks them.
func TestValidPattern(t *testing.T) {
	for p, want := range map[string]bool{
		"": true, "*": true, "a": true, "my-key": true, "my-key*": true, "my-*": true, "_*": true, "a_": true,
		strings.Repeat("a", 80): true, strings.Repeat("a", 79) + "*": true,
		"my-": false, "-a": false, "-*": false, "-": false, "_": false, "a**": false, "**": false, "*a": false,
		"a*b": false, "a.b": false, "a/b": false, "a b": false, strings.Repeat("a", 81): false, strings.Repeat("a", 80) + "*": false,
	} {
		if got := validPattern(p); got != want {
			t.Errorf("validPattern(%q) = %v, want %v", p, got, want)
		}
	}
}
