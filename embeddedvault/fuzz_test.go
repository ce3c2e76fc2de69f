package embeddedvault

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{
		guidePolicy,
		defaultPolicy,
		`path "secret/+/config" { capabilities = ["read"] }`,
		`{"path":{"kv/*":{"capabilities":["read","list"]}}}`,
		`path "old/*" { policy = "write" }`,
		`path "a/+*" {}`,
		`path "x" { capabilities = ["read" }`,
		"cGF0aCAiYi8qIiB7IGNhcGFiaWxpdGllcyA9IFsicmVhZCJdIH0=",
	} {
		f.Add(s, "kv/minio/key")
	}
	f.Fuzz(func(t *testing.T, src, path string) {
		p, err := parsePolicy("fuzz", src)
		if err != nil {
			return
		}
		a := newACL([]*policy{p})
		for _, op := range []logical.Operation{logical.ReadOperation, logical.ListOperation, logical.CreateOperation} {
			allowed := a.allowed(path, op, false)
			if allowed && a.capabilities(path, op)&capDeny != 0 {
				t.Fatalf("deny rule allowed %s %q", op, path)
			}
		}
	})
}

func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{``, `null`, `{}`, `{"a":"b"}`, `{"secret_shares":"5"}`, `[1]`, `{"a":`, `{"n":1e400}`, `{"a":1} {}`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := decodeJSONObject(raw)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v is not a bad request", err)
			}
			if m != nil {
				t.Fatal("partial result with error")
			}
			return
		}
		// Whatever decodes must survive the field coercions without panics.
		for k := range m {
			_, _ = intField(m, k, 0)
			_, _ = boolField(m, k, false)
			_, _ = durationField(m, k, 0)
			_, _, _ = stringsField(m, k)
			_, _ = mapField(m, k)
		}
	})
}

func FuzzDecodeShare(f *testing.F) {
	for _, s := range []string{"00", "AAAA", "zz", "", "4f6b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		b, err := decodeShare(key)
		if err == nil && b == nil {
			t.Fatal("nil share without error")
		}
	})
}

// FuzzHandler sends arbitrary method/path/body combinations with the root
// token through the whole handler: no panic, no 500, JSON error bodies.
func FuzzHandler(f *testing.F) {
	s, err := Open(f.Context(), Config{Path: f.TempDir() + "/vault.db"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	res, _, err := s.initialize(f.Context(), 1, 1, "root-token")
	if err != nil {
		f.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(res.KeysB64[0])
	if err := s.unsealWithKey(f.Context(), key); err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	call := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/v1/"+path, strings.NewReader(body))
		req.Header.Set("X-Vault-Token", "root-token")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	call("POST", "sys/mounts/kv", `{"type":"kv"}`)
	call("POST", "sys/mounts/kv2", `{"type":"kv-v2"}`)
	call("POST", "sys/auth/approle", `{"type":"approle"}`)
	for _, seed := range [][3]string{
		{"PUT", "kv/a", `{"a":"b"}`}, {"LIST", "kv/", ``}, {"PUT", "kv2/data/x", `{"data":{"a":1},"options":{"cas":0}}`},
		{"POST", "auth/approle/role/r", `{"period":"5m","policies":"a,b"}`}, {"PUT", "auth/approle/login", `{"role_id":1}`},
		{"PUT", "sys/policies/acl/p", `{"policy":"path \"a\" {}"}`}, {"DELETE", "kv2/metadata/x", ``},
		{"PUT", "auth/token/create", `{"ttl":"1h","num_uses":"2"}`}, {"GET", "sys/internal/ui/mounts/kv", ``},
		{"PUT", "sys/unseal", `{"key":"00"}`}, {"GET", "kv/a?list=true", ``},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		switch method {
		case "GET", "PUT", "POST", "DELETE", "LIST", "HEAD", "PATCH":
		default:
			return
		}
		if path == "sys/seal" || strings.HasPrefix(path, "sys/seal?") || strings.ContainsAny(path, " #%\x00\r\n\t") {
			return // sealing would end the session; bad URLs never reach the handler
		}
		if _, err := http.NewRequest(method, "http://x/v1/"+path, nil); err != nil {
			return // httptest.NewRequest would panic on it
		}
		rec := call(method, path, body)
		if rec.Code >= 500 && rec.Code != 503 {
			t.Fatalf("%s %s %q = %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: invalid JSON body %q", method, path, rec.Body)
		}
	})
}
