package embeddedvault

import (
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// volatile keys are replaced by a placeholder before golden comparison.
var volatile = map[string]bool{
	"request_id": true, "client_token": true, "accessor": true, "server_time_utc": true,
	"nonce": true, "cluster_id": true, "uuid": true, "creation_time": true, "issue_time": true,
	"expire_time": true, "id": true, "created_time": true, "updated_time": true,
}

func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if volatile[k] && e != nil && e != "" {
				t[k] = "<" + k + ">"
			} else {
				t[k] = normalize(e)
			}
		}
	case []any:
		for i := range t {
			t[i] = normalize(t[i])
		}
	}
	return v
}

// golden compares status and normalized body with testdata/golden/name.json.
func golden(t *testing.T, name string, status int, body map[string]any) {
	t.Helper()
	got, _ := json.MarshalIndent(map[string]any{"status": status, "body": normalize(body)}, "", "  ")
	file := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update)", name, err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
		t.Errorf("golden %s mismatch:\n got: %s\nwant: %s", name, got, want)
	}
}

func errs(body map[string]any) string {
	var out []string
	for _, e := range body["errors"].([]any) {
		out = append(out, e.(string))
	}
	return strings.Join(out, "|")
}

func TestSealLifecycleWire(t *testing.T) {
	tv := startVault(t, testConfig(t))
	type call struct {
		name, method, path, body string
		status                   int
		errors                   string // "|"-joined, "-" = do not check
	}
	run := func(calls []call) {
		t.Helper()
		for _, c := range calls {
			code, body := tv.rawCall(c.method, c.path, "", c.body)
			if code != c.status {
				t.Errorf("%s: %s %s = %d %v, want %d", c.name, c.method, c.path, code, body, c.status)
				continue
			}
			if c.errors != "-" && errs(body) != c.errors {
				t.Errorf("%s: errors = %q, want %q", c.name, errs(body), c.errors)
			}
		}
	}
	code, body := tv.rawCall("GET", "/v1/sys/seal-status", "", "")
	golden(t, "seal-status-uninitialized", code, body)
	code, body = tv.rawCall("GET", "/v1/sys/health", "", "")
	golden(t, "health-uninitialized", code, body)
	if code, _ := tv.rawCall("HEAD", "/v1/sys/health?uninitcode=204", "", ""); code != 204 {
		t.Errorf("HEAD health uninitcode=204 = %d", code)
	}
	run([]call{
		{"sealed logical", "GET", "/v1/kv/x", "", 503, "Vault is sealed"},
		{"sealed mounts", "GET", "/v1/sys/mounts", "", 503, "Vault is sealed"},
		{"unseal uninitialized", "PUT", "/v1/sys/unseal", `{"key":"00"}`, 400, "Vault is not initialized"},
		{"init zero", "PUT", "/v1/sys/init", `{"secret_shares":0,"secret_threshold":0}`, 400, "invalid seal configuration: shares must be at least one"},
		{"init threshold zero", "PUT", "/v1/sys/init", `{"secret_shares":1,"secret_threshold":0}`, 400, "invalid seal configuration: threshold must be at least one"},
		{"init threshold > shares", "PUT", "/v1/sys/init", `{"secret_shares":2,"secret_threshold":3}`, 400, "invalid seal configuration: threshold cannot be larger than shares"},
		{"init 3/1", "PUT", "/v1/sys/init", `{"secret_shares":3,"secret_threshold":1}`, 400, "invalid seal configuration: threshold must be greater than one for multiple shares"},
		{"init 256", "PUT", "/v1/sys/init", `{"secret_shares":256,"secret_threshold":2}`, 400, "invalid seal configuration: shares must be less than 256"},
		{"init bad json", "PUT", "/v1/sys/init", `{"secret_shares":`, 400, "-"},
		{"init pgp", "PUT", "/v1/sys/init", `{"secret_shares":1,"secret_threshold":1,"pgp_keys":["x"]}`, 400, "pgp_keys is not supported"},
		{"health bad code", "GET", "/v1/sys/health?uninitcode=abc", "", 400, "bad code: abc"},
		{"init GET", "GET", "/v1/sys/init", "", 200, "-"},
	})
	code, body = tv.rawCall("PUT", "/v1/sys/init", "", `{"secret_shares":"3","secret_threshold":"2"}`)
	if code != 200 || len(body["keys"].([]any)) != 3 {
		t.Fatalf("init with string numbers = %d %v", code, body)
	}
	share := body["keys_base64"].([]any)[0].(string)
	run([]call{
		{"init twice", "PUT", "/v1/sys/init", `{"secret_shares":1,"secret_threshold":1}`, 400, "Vault is already initialized"},
		{"unseal no key", "PUT", "/v1/sys/unseal", `{}`, 400, "'key' must be specified in request body as JSON, or 'reset' set to true"},
		{"unseal empty body", "PUT", "/v1/sys/unseal", ``, 400, "'key' must be specified in request body as JSON, or 'reset' set to true"},
		{"unseal garbage", "PUT", "/v1/sys/unseal", `{"key":"!!not-a-key!!"}`, 400, "'key' must be a valid hex or base64 string"},
		{"unseal share 1", "PUT", "/v1/sys/unseal", `{"key":"` + share + `","reset":false,"migrate":false}`, 200, "-"},
		{"health sealed", "GET", "/v1/sys/health", "", 503, "-"},
		{"health sealedcode", "GET", "/v1/sys/health?sealedcode=299&uninitcode=299", "", 299, "-"},
		{"leader", "GET", "/v1/sys/leader", "", 200, "-"},
	})
	code, body = tv.rawCall("PUT", "/v1/sys/unseal", "", `{"reset":true}`)
	if code != 200 || body["progress"].(float64) != 0 || body["sealed"] != true {
		t.Fatalf("reset = %d %v", code, body)
	}
	code, body = tv.rawCall("GET", "/v1/sys/leader", "", "")
	golden(t, "leader", code, body)
}

func TestRequestEdgeCases(t *testing.T) {
	tv := startVault(t, testConfig(t))
	res := tv.initUnseal(1, 1)
	root := res.RootToken
	call := func(method, p, body string) (int, map[string]any) {
		t.Helper()
		return tv.rawCall(method, p, root, body)
	}
	if code, _ := call("POST", "/v1/sys/mounts/kv", `{"type":"kv"}`); code != 204 {
		t.Fatalf("mount = %d", code)
	}
	code, body := call("GET", "/v1/nope/x", "")
	if code != 404 || errs(body) != `no handler for route "nope/x". route entry not found.` {
		t.Errorf("unknown mount = %d %v", code, body)
	}
	golden(t, "unknown-route", code, body)
	if code, body = call("PATCH", "/v1/kv/x", `{"a":"b"}`); code != 405 {
		t.Errorf("PATCH = %d %v", code, body)
	}
	golden(t, "method-not-allowed", code, body)
	if code, _ = call("HEAD", "/v1/kv/x", ""); code != 405 {
		t.Errorf("HEAD kv = %d", code)
	}
	if code, body = call("DELETE", "/v1/sys/seal-status", ""); code != 405 {
		t.Errorf("DELETE seal-status = %d %v", code, body)
	}
	// Bodies: too large, bad JSON, not an object, empty: nothing written.
	big := `{"k":"` + strings.Repeat("a", 33<<20) + `"}`
	if code, body = call("PUT", "/v1/kv/big", big); code != http.StatusRequestEntityTooLarge || errs(body) != "http: request body too large" {
		t.Errorf("huge body = %d %v", code, body)
	}
	for _, b := range []string{`{"a":`, `[1,2]`, `"str"`, `{"a":1} {"b":2}`, `{"a":"b"}x`} {
		if code, body = call("PUT", "/v1/kv/bad", b); code != 400 || !strings.HasPrefix(errs(body), "failed to parse JSON input") {
			t.Errorf("body %q = %d %v", b, code, body)
		}
	}
	for _, b := range []string{``, `null`, `{}`, ` `} {
		if code, body = call("PUT", "/v1/kv/empty", b); code != 400 || errs(body) != "missing data fields" {
			t.Errorf("empty body %q = %d %v", b, code, body)
		}
	}
	for _, p := range []string{"/v1/kv/big", "/v1/kv/bad", "/v1/kv/empty"} {
		if code, body = call("GET", p, ""); code != 404 || errs(body) != "" {
			t.Errorf("GET %s after failed writes = %d %v", p, code, body)
		}
	}
	golden(t, "not-found", code, body)
	// Numbers survive exactly; LIST verb; envelope shape.
	if code, _ = call("PUT", "/v1/kv/n/num", `{"big":12345678901234567890,"f":1.5}`); code != 204 {
		t.Fatalf("write num = %d", code)
	}
	code, body = call("GET", "/v1/kv/n/num", "")
	golden(t, "kv-v1-read", code, body)
	req, _ := http.NewRequest("GET", tv.http.URL+"/v1/kv/n/num", nil)
	req.Header.Set("X-Vault-Token", root)
	if resp, err := tv.http.Client().Do(req); err != nil {
		t.Fatal(err)
	} else {
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(raw), `"big":12345678901234567890`) {
			t.Errorf("number not kept exactly: %s", raw)
		}
	}
	if code, body = call("LIST", "/v1/kv/n", ""); code != 200 || body["data"].(map[string]any)["keys"].([]any)[0] != "num" {
		t.Errorf("LIST verb = %d %v", code, body)
	}
	// Mount collisions and validation.
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/sys/mounts/kv", `{"type":"kv"}`, "path is already in use at kv/"},
		{"/v1/sys/mounts/kv/sub", `{"type":"kv"}`, "path is already in use at kv/"},
	} {
		if code, body = call("POST", tc.path, tc.body); code != 409 || errs(body) != tc.want {
			t.Errorf("collision %s = %d %v", tc.path, code, body)
		}
	}
	for _, b := range []string{`{"type":"kv","options":{"version":"3"}}`, `{"type":"pki"}`, `{}`, `{"type":"kv","config":"x"}`} {
		if code, body = call("POST", "/v1/sys/mounts/other", b); code != 400 {
			t.Errorf("mount %s = %d %v", b, code, body)
		}
	}
	if code, body = call("POST", "/v1/sys/mounts/sys", `{"type":"kv"}`); code != 400 {
		t.Errorf("mount sys = %d %v", code, body)
	}
	code, body = call("GET", "/v1/sys/mounts", "")
	if code != 200 || body["kv/"] == nil || body["data"].(map[string]any)["kv/"] == nil || body["sys/"] == nil || body["cubbyhole/"] == nil || body["identity/"] == nil {
		t.Errorf("sys/mounts = %d %v", code, body)
	}
	if code, body = call("POST", "/v1/sys/mounts/kv1", `{"type":"kv-v1"}`); code != 204 {
		t.Errorf("kv-v1 = %d %v", code, body)
	}
	if code, body = call("DELETE", "/v1/sys/mounts/kv1", ""); code != 204 {
		t.Errorf("unmount = %d %v", code, body)
	}
	// Policies.
	if code, body = call("PUT", "/v1/sys/policies/acl/broken", `{"policy":"path \"a\" { capabilities = [\"read\" }"}`); code != 400 || !strings.HasPrefix(errs(body), "failed to parse policy") {
		t.Errorf("bad HCL = %d %v", code, body)
	}
	if code, _ = call("GET", "/v1/sys/policies/acl/broken", ""); code != 404 {
		t.Errorf("bad policy stored: %d", code)
	}
	if code, body = call("PUT", "/v1/sys/policies/acl/empty", `{"policy":""}`); code != 400 || errs(body) != "'policy' parameter not supplied or empty" {
		t.Errorf("empty policy = %d %v", code, body)
	}
	for _, n := range []string{"default", "root"} {
		if code, _ = call("DELETE", "/v1/sys/policies/acl/"+n, ""); code != 400 {
			t.Errorf("delete %s = %d", n, code)
		}
	}
	if code, body = call("PUT", "/v1/sys/policies/acl/MiXed", `{"policy":"path \"x\" { capabilities = [\"read\"] }"}`); code != 200 || body["warnings"] == nil {
		t.Errorf("mixed-case policy = %d %v", code, body)
	}
	code, body = call("LIST", "/v1/sys/policies/acl", "")
	golden(t, "policies-list", code, body)
	if code, body = call("GET", "/v1/sys/policy", ""); code != 200 || body["policies"] == nil || body["keys"] == nil {
		t.Errorf("legacy list = %d %v", code, body)
	}
	if code, body = call("PUT", "/v1/sys/policy/legacy", `{"rules":"path \"y\" { policy = \"read\" }"}`); code != 204 {
		t.Errorf("legacy write = %d %v", code, body)
	}
	if code, body = call("GET", "/v1/sys/policy/legacy", ""); code != 200 || body["rules"] == nil || body["name"] != "legacy" {
		t.Errorf("legacy read = %d %v", code, body)
	}
	// Tokens: none, unknown, Bearer.
	if code, body = tv.rawCall("GET", "/v1/kv/n/num", "", ""); code != 403 || errs(body) != "permission denied" {
		t.Errorf("no token = %d %v", code, body)
	}
	if code, _ = tv.rawCall("GET", "/v1/kv/n/num", "hvs.unknown", ""); code != 403 {
		t.Errorf("unknown token = %d", code)
	}
	req, _ = http.NewRequest("GET", tv.http.URL+"/v1/kv/n/num", nil)
	req.Header.Set("Authorization", "Bearer "+root)
	if resp, err := tv.http.Client().Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("Bearer token = %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestCLIInitBody sends the body `vault operator init` sends, then a
// wrapped request, which is refused.
func TestCLIInitBody(t *testing.T) {
	tv := startVault(t, testConfig(t))
	code, body := tv.rawCall("PUT", "/v1/sys/init", "", `{"secret_shares":5,"secret_threshold":3,"stored_shares":0,"pgp_keys":null,"recovery_shares":0,"recovery_threshold":0,"recovery_pgp_keys":null,"root_token_pgp_key":""}`)
	if code != 200 || len(body["keys_base64"].([]any)) != 5 || body["root_token"] == "" {
		t.Fatalf("CLI init = %d %v", code, body)
	}
	req, _ := http.NewRequest("GET", tv.http.URL+"/v1/sys/seal-status", nil)
	req.Header.Set("X-Vault-Wrap-TTL", "5m")
	resp, err := tv.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("wrap TTL = %d, want 400", resp.StatusCode)
	}
}

func TestHealthOverridesUnsealed(t *testing.T) {
	tv := startVault(t, testConfig(t))
	tv.initUnseal(1, 1)
	for q, want := range map[string]int{
		"":                           200,
		"?activecode=299":            299,
		"?standbycode=299&standbyok": 200,
		"?standbyok=maybe":           400,
		"?standbyok=true":            200,
		"?perfstandbyok=false":       200,
		"?drsecondarycode=abc":       400,
		"?performancestandbycode=0":  400,
		"?uninitcode=299&sealedcode=299&standbycode=299&drsecondarycode=299&performancestandbycode=299": 200,
	} {
		code, body := tv.rawCall("GET", "/v1/sys/health"+q, "", "")
		if code != want {
			t.Errorf("health%s = %d %v, want %d", q, code, body, want)
		}
		if want == 200 && (body["sealed"] != false || body["cluster_id"] == nil) {
			t.Errorf("health%s body = %v", q, body)
		}
	}
	req, _ := http.NewRequest("HEAD", tv.http.URL+"/v1/sys/health?activecode=204", nil)
	resp, err := tv.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 204 || len(raw) != 0 {
		t.Fatalf("HEAD = %d %q", resp.StatusCode, raw)
	}
}
