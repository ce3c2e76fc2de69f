package embeddedvault

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

func mustACL(t *testing.T, srcs ...string) *acl {
	t.Helper()
	var pols []*policy
	for i, s := range srcs {
		p, err := parsePolicy("p"+string(rune('0'+i)), s)
		if err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		pols = append(pols, p)
	}
	return newACL(pols)
}

func TestACLTable(t *testing.T) {
	const (
		guide   = `path "kv/minio/*" { capabilities = ["create","read","delete"] }`
		update  = `path "kv/minio/*" { capabilities = ["update"] }`
		denyAll = `path "kv/minio/*" { capabilities = ["deny"] }`
		kvDeny  = `path "kv/*" { capabilities = ["deny"] }`
		exact   = `path "kv/exact" { capabilities = ["read"] }`
		dir     = `path "kv/dir" { capabilities = ["list"] }`
		plus    = `path "secret/+/config" { capabilities = ["read"] }
path "secret/*" { capabilities = ["list"] }`
		rank   = `path "kv/+/x*" { capabilities = ["read"] } ` + "\n" + `path "kv/a/*" { capabilities = ["list"] }`
		partly = `path "kv/mi*" { capabilities = ["read"] }`
		star   = `path "a/*/b" { capabilities = ["read"] }`
		legacy = `path "old/*" { policy = "write" }` + "\n" + `path "ro/*" { policy = "read" }`
		seal   = `path "sys/seal" { capabilities = ["update"] }`
		sudo   = `path "sys/seal" { capabilities = ["update","sudo"] }`
		lead   = `path "/lead/*" { capabilities = ["read"] }`
		json   = `{"path":{"js/*":{"capabilities":["read","list"]}}}`
	)
	type check struct {
		path string
		op   logical.Operation
		sudo bool
		want bool
	}
	var r, c, u, d, l logical.Operation = logical.ReadOperation, logical.CreateOperation, logical.UpdateOperation, logical.DeleteOperation, logical.ListOperation
	cases := []struct {
		name     string
		policies []string
		checks   []check
	}{
		{"guide policy", []string{guide}, []check{
			{"kv/minio/key-1", c, false, true}, {"kv/minio/key-1", r, false, true}, {"kv/minio/key-1", d, false, true},
			{"kv/minio/key-1", u, false, false}, {"kv/minio/", l, false, false}, {"kv/minio/a/b", r, false, true},
			{"kv/minio/", r, false, true}, {"kv/minio", r, false, false}, {"kv/other/x", c, false, false},
		}},
		{"identical patterns merge", []string{guide, update}, []check{
			{"kv/minio/k", u, false, true}, {"kv/minio/k", c, false, true},
		}},
		{"deny in an identical pattern wins", []string{guide, denyAll}, []check{
			{"kv/minio/k", r, false, false}, {"kv/minio/k", c, false, false},
		}},
		{"deny does not override a more specific allow", []string{guide, kvDeny}, []check{
			{"kv/minio/k", r, false, true}, {"kv/other", r, false, false},
		}},
		{"exact beats glob", []string{kvDeny, exact}, []check{
			{"kv/exact", r, false, true}, {"kv/exact2", r, false, false},
		}},
		{"exact rule applies to list with trailing slash", []string{dir}, []check{
			{"kv/dir/", l, false, true}, {"kv/dir/", r, false, false},
		}},
		{"plus segment vs prefix", []string{plus}, []check{
			{"secret/app/config", r, false, true}, {"secret/app/config", l, false, false},
			{"secret/app/other", l, false, true}, {"secret/app/config/x", r, false, false},
			{"secret/a/b/config", r, false, false},
		}},
		{"later wildcard wins", []string{rank}, []check{
			{"kv/a/xy", l, false, true}, {"kv/a/xy", r, false, false}, {"kv/b/xy", r, false, true},
			{"kv/b/xy/z", r, false, true}, {"kv/b/y", r, false, false},
		}},
		{"prefix inside a segment", []string{partly}, []check{
			{"kv/minio", r, false, true}, {"kv/mi", r, false, true}, {"kv/m", r, false, false},
		}},
		{"star in the middle is literal", []string{star}, []check{
			{"a/*/b", r, false, true}, {"a/x/b", r, false, false},
		}},
		{"legacy policy values", []string{legacy}, []check{
			{"old/x", c, false, true}, {"old/x", u, false, true}, {"old/x", d, false, true}, {"old/", l, false, true},
			{"ro/x", r, false, true}, {"ro/", l, false, true}, {"ro/x", u, false, false},
		}},
		{"sudo required on root paths", []string{seal}, []check{
			{"sys/seal", u, true, false}, {"sys/seal", u, false, true},
		}},
		{"sudo granted", []string{sudo}, []check{{"sys/seal", u, true, true}}},
		{"leading slash stripped", []string{lead}, []check{{"lead/x", r, false, true}}},
		{"json policy", []string{json}, []check{{"js/x", r, false, true}, {"js/", l, false, true}, {"js/x", u, false, false}}},
		{"no policies deny", nil, []check{{"kv/x", r, false, false}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := mustACL(t, tc.policies...)
			for _, ck := range tc.checks {
				if got := a.allowed(ck.path, ck.op, ck.sudo); got != ck.want {
					t.Errorf("%s %s (sudo=%v) = %v, want %v", ck.op, ck.path, ck.sudo, got, ck.want)
				}
			}
		})
	}
	if root := newACL([]*policy{{name: "root"}}); !root.allowed("anything/at/all", logical.DeleteOperation, true) {
		t.Error("root policy denied")
	}
}

func TestParsePolicyErrors(t *testing.T) {
	for name, src := range map[string]string{
		"plus star":          `path "a/+*" { capabilities = ["read"] }`,
		"unknown capability": `path "a" { capabilities = ["fly"] }`,
		"unknown key":        `path "a" { capabilities = ["read"] color = "red" }`,
		"unknown top key":    `paths "a" { capabilities = ["read"] }`,
		"bad hcl":            `path "a" { capabilities = ["read" }`,
		"bad legacy":         `path "a" { policy = "admin" }`,
		"not a block":        `path "a" = "read"`,
	} {
		if _, err := parsePolicy("x", src); err == nil {
			t.Errorf("%s: parsed %q without error", name, src)
		}
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(`path "b/*" { capabilities = ["read"] }`))
	p, err := parsePolicy("x", b64)
	if err != nil || len(p.rules) != 1 || p.rules[0].pattern != "b/*" {
		t.Fatalf("base64 policy = %+v, %v", p, err)
	}
	if got := strings.Join((capRead | capList).names(), ","); got != "list,read" {
		t.Errorf("names = %s", got)
	}
}

// TestACLGlobPriority pins each tie-breaker of Vault's glob priority: the
// winning pattern grants read, the losing one list, and both match path.
func TestACLGlobPriority(t *testing.T) {
	for name, tc := range map[string]struct{ win, lose, path string }{
		"later first wildcard": {"kv/a/+", "kv/a*", "kv/a/x"},
		"no trailing star":     {"kv/+/x", "kv/+/x*", "kv/q/x"},
		"fewer plus segments":  {"kv/+/b/c*", "kv/+/+/c*", "kv/a/b/cd"},
		"longer pattern":       {"kv/+/bc*", "kv/+/b*", "kv/a/bcd"},
		"lexically greater":    {"kv/+/a/+", "kv/+/+/b", "kv/x/a/b"},
	} {
		for _, order := range [][2]string{{tc.win, tc.lose}, {tc.lose, tc.win}} {
			var src string
			for _, p := range order {
				caps := "list"
				if p == tc.win {
					caps = "read"
				}
				src += `path "` + p + `" { capabilities = ["` + caps + `"] }` + "\n"
			}
			a := mustACL(t, src)
			if !a.allowed(tc.path, logical.ReadOperation, false) || a.allowed(tc.path, logical.ListOperation, false) {
				t.Errorf("%s: %q should decide %s over %q", name, tc.win, tc.path, tc.lose)
			}
		}
	}
}
