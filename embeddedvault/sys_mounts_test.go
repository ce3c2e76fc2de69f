package embeddedvault

import "testing"

// TestReadMountsAndUIMounts: the single-mount reads of both tables and the
// UI listing of both, with the refusals for unknown and malformed paths
// and for requests without a valid token.
func TestReadMountsAndUIMounts(t *testing.T) {
	tv := startVault(t, testConfig(t))
	root := tv.initUnseal(1, 1).RootToken
	for _, c := range []struct{ path, body string }{
		{"/v1/sys/mounts/kv2", `{"type":"kv","options":{"version":"2"}}`},
		{"/v1/sys/auth/approle", `{"type":"approle"}`},
	} {
		if code, body := tv.rawCall("POST", c.path, root, c.body); code != 204 {
			t.Fatalf("POST %s = %d %v", c.path, code, body)
		}
	}

	code, m := tv.rawCall("GET", "/v1/sys/mounts/kv2", root, "")
	if code != 200 || m["type"] != "kv" || m["options"].(map[string]any)["version"] != "2" || m["data"].(map[string]any)["type"] != "kv" {
		t.Fatalf("read kv2 mount = %d %v", code, m)
	}
	if code, a := tv.rawCall("GET", "/v1/sys/auth/approle", root, ""); code != 200 || a["type"] != "approle" {
		t.Fatalf("read approle auth = %d %v", code, a)
	}
	if code, body := tv.rawCall("GET", "/v1/sys/mounts/nope", root, ""); code != 400 || !errorsEqual(body, "No secret engine mount at nope/") {
		t.Fatalf("read of a missing mount = %d %v", code, body)
	}
	if code, body := tv.rawCall("GET", "/v1/sys/mounts/a//b", root, ""); code != 400 {
		t.Fatalf("read of a malformed mount path = %d %v", code, body)
	}

	code, ui := tv.rawCall("GET", "/v1/sys/internal/ui/mounts", root, "")
	if code != 200 {
		t.Fatalf("ui mounts = %d %v", code, ui)
	}
	data := ui["data"].(map[string]any)
	if data["secret"].(map[string]any)["kv2/"] == nil || data["auth"].(map[string]any)["approle/"] == nil || data["auth"].(map[string]any)["token/"] == nil {
		t.Fatalf("ui mounts data = %v", data)
	}
	if code, _ := tv.rawCall("GET", "/v1/sys/internal/ui/mounts", "hvs.not-a-token", ""); code != 403 {
		t.Fatalf("ui mounts with a bad token = %d, want 403", code)
	}
}
