package embeddedvault

import (
	"errors"
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
