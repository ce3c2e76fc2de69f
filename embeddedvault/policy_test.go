package embeddedvault

import (
	"testing"
)

// TestPolicyDeleteAndTokenRevoke: deleting a policy takes its access away
// from tokens that carry it at once, the built-in policies cannot be
// deleted, and a revoked token is refused while unknown tokens revoke as a
// no-op.
func TestPolicyDeleteAndTokenRevoke(t *testing.T) {
	tv := startVault(t, testConfig(t))
	root := tv.initUnseal(1, 1).RootToken
	for _, c := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/v1/sys/mounts/kv", `{"type":"kv"}`, 204},
		{"PUT", "/v1/kv/app/one", `{"v":"1"}`, 204},
		{"PUT", "/v1/sys/policies/acl/reader", `{"policy":"path \"kv/app/*\" { capabilities = [\"read\"] }"}`, 204},
	} {
		if code, body := tv.rawCall(c.method, c.path, root, c.body); code != c.want {
			t.Fatalf("%s %s = %d %v, want %d", c.method, c.path, code, body, c.want)
		}
	}
	newToken := func() string {
		t.Helper()
		code, body := tv.rawCall("POST", "/v1/auth/token/create", root, `{"policies":["reader"]}`)
		if code != 200 {
			t.Fatalf("token create = %d %v", code, body)
		}
		return body["auth"].(map[string]any)["client_token"].(string)
	}

	tok := newToken()
	if code, _ := tv.rawCall("GET", "/v1/kv/app/one", tok, ""); code != 200 {
		t.Fatalf("read with reader token = %d", code)
	}
	if code, _ := tv.rawCall("DELETE", "/v1/sys/policies/acl/reader", root, ""); code != 204 {
		t.Fatalf("policy delete = %d", code)
	}
	if code, _ := tv.rawCall("GET", "/v1/kv/app/one", tok, ""); code != 403 {
		t.Fatalf("read after the policy was deleted = %d, want 403", code)
	}
	for _, name := range []string{"root", "default"} {
		code, body := tv.rawCall("DELETE", "/v1/sys/policies/acl/"+name, root, "")
		if code != 400 || !errorsEqual(body, `cannot delete "`+name+`" policy`) {
			t.Fatalf("delete %s policy = %d %v", name, code, body)
		}
	}

	if code, _ := tv.rawCall("PUT", "/v1/sys/policies/acl/reader", root, `{"policy":"path \"kv/app/*\" { capabilities = [\"read\"] }"}`); code != 204 {
		t.Fatalf("policy rewrite = %d", code)
	}
	tok = newToken()
	if code, body := tv.rawCall("PUT", "/v1/auth/token/revoke", root, `{}`); code != 400 || !errorsEqual(body, "missing token to revoke") {
		t.Fatalf("revoke without token = %d %v", code, body)
	}
	if code, body := tv.rawCall("PUT", "/v1/auth/token/revoke", root, `{"token":"hvs.unknown"}`); code != 204 {
		t.Fatalf("revoke of an unknown token = %d %v, want 204", code, body)
	}
	if code, _ := tv.rawCall("GET", "/v1/kv/app/one", tok, ""); code != 200 {
		t.Fatalf("token revoked by another revoke: read = %d", code)
	}
	if code, body := tv.rawCall("PUT", "/v1/auth/token/revoke", root, `{"token":"`+tok+`"}`); code != 204 {
		t.Fatalf("revoke = %d %v", code, body)
	}
	if code, _ := tv.rawCall("GET", "/v1/kv/app/one", tok, ""); code != 403 {
		t.Fatalf("read with a revoked token = %d, want 403", code)
	}
	if code, body := tv.rawCall("GET", "/v1/kv/app/one", root, ""); code != 200 || body["data"].(map[string]any)["v"] != "1" {
		t.Fatalf("data after the policy and token changes = %d %v", code, body)
	}
}

// errorsEqual reports whether a Vault error body is {"errors":[msg]}.
func errorsEqual(body map[string]any, msg string) bool {
	errs, _ := body["errors"].([]any)
	return len(errs) == 1 && errs[0] == msg
}
