package embeddedvault

import (
	"encoding/json"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

// rawCall sends one HTTP request the way KES's client does and decodes the
// JSON answer (nil for empty bodies).
func (tv *testVault) rawCall(method, p, token, body string) (int, map[string]any) {
	tv.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, tv.http.URL+p, rd)
	if err != nil {
		tv.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	req.Header.Set("X-Vault-Request", "true")
	resp, err := tv.http.Client().Do(req)
	if err != nil {
		tv.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); len(raw) > 0 && ct != "application/json" {
		tv.t.Errorf("%s %s: Content-Type %q", method, p, ct)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			tv.t.Fatalf("%s %s: body %q: %v", method, p, raw, err)
		}
	}
	return resp.StatusCode, out
}

// TestKESCalls replays what KES's vault keystore sends (spec section 8).
func TestKESCalls(t *testing.T) {
	tv := startVault(t, testConfig(t))
	res, roleID, secretID := guideSetup(t, tv)
	root := res.RootToken
	// KES v1 minimal policy: create, read, delete and list under its prefix.
	if code, _ := tv.rawCall("PUT", "/v1/sys/policies/acl/kes", root,
		`{"policy":"path \"kv/kes/*\" { capabilities = [\"create\",\"read\",\"delete\",\"list\"] }\npath \"kv2/data/kes/*\" { capabilities = [\"create\",\"read\",\"update\"] }\npath \"kv2/metadata/kes/*\" { capabilities = [\"delete\",\"list\"] }"}`); code != 204 {
		t.Fatalf("policy write = %d", code)
	}
	if code, _ := tv.rawCall("POST", "/v1/auth/approle/role/kes-role", root, `{"token_policies":"kes"}`); code != 204 {
		t.Fatalf("role update = %d", code)
	}
	if code, _ := tv.rawCall("POST", "/v1/sys/mounts/kv2", root, `{"type":"kv","options":{"version":"2"}}`); code != 204 {
		t.Fatalf("mount kv2 = %d", code)
	}

	// Login.
	code, body := tv.rawCall("PUT", "/v1/auth/approle/login", "", `{"role_id":"`+roleID+`","secret_id":"`+secretID+`"}`)
	if code != 200 {
		t.Fatalf("login = %d %v", code, body)
	}
	auth := body["auth"].(map[string]any)
	token := auth["client_token"].(string)
	if auth["lease_duration"].(float64) != 300 || auth["renewable"] != true || body["data"] != nil {
		t.Fatalf("login auth = %v", auth)
	}

	// Health with the api client's 299 parameters, token sent.
	health := "/v1/sys/health?uninitcode=299&sealedcode=299&standbycode=299&drsecondarycode=299&performancestandbycode=299"
	code, body = tv.rawCall("GET", health, token, "")
	if code != 200 || body["initialized"] != true || body["sealed"] != false {
		t.Fatalf("health = %d %v", code, body)
	}
	hr, err := tv.client(token).Sys().Health()
	if err != nil || !hr.Initialized || hr.Sealed || hr.Version == "" {
		t.Fatalf("Sys().Health() = %+v, %v", hr, err)
	}

	// Renewal at 80% of the TTL.
	code, body = tv.rawCall("PUT", "/v1/auth/token/renew-self", token, `{"increment":0}`)
	if code != 200 || body["auth"].(map[string]any)["lease_duration"].(float64) != 300 {
		t.Fatalf("renew-self = %d %v", code, body)
	}

	// KV v1: create = GET 404 then PUT; get; list; delete twice.
	name := "minio-key-1"
	entry := "/v1/" + path.Join("kv", "kes", name)
	if code, body = tv.rawCall("GET", entry, token, ""); code != 404 || len(body["errors"].([]any)) != 0 {
		t.Fatalf("GET absent = %d %v", code, body)
	}
	if code, _ = tv.rawCall("PUT", entry, token, `{"`+name+`":"djE="}`); code != 204 {
		t.Fatalf("PUT = %d", code)
	}
	code, body = tv.rawCall("GET", entry, token, "")
	if code != 200 || body["data"].(map[string]any)[name] != "djE=" {
		t.Fatalf("GET = %d %v", code, body)
	}
	tv.rawCall("PUT", "/v1/kv/kes/minio-key-2", token, `{"minio-key-2":"djI="}`)
	code, body = tv.rawCall("GET", "/v1/kv/kes?list=true", token, "")
	if code != 200 || !slices.Equal(toStrings(body["data"].(map[string]any)["keys"]), []string{"minio-key-1", "minio-key-2"}) {
		t.Fatalf("list = %d %v", code, body)
	}
	for range 2 {
		if code, _ = tv.rawCall("DELETE", entry, token, ""); code != 204 {
			t.Fatalf("DELETE = %d", code)
		}
	}
	tv.rawCall("DELETE", "/v1/kv/kes/minio-key-2", token, "")
	if code, body = tv.rawCall("GET", "/v1/kv/kes?list=true", token, ""); code != 404 {
		t.Fatalf("empty list = %d %v", code, body)
	}

	// KV v2: GET 404, PUT with cas 0, second cas 0 fails, GET ?version=1,
	// list metadata, DELETE metadata.
	data := "/v1/kv2/data/kes/" + name
	if code, _ = tv.rawCall("GET", data, token, ""); code != 404 {
		t.Fatalf("v2 GET absent = %d", code)
	}
	code, body = tv.rawCall("PUT", data, token, `{"options":{"cas":0},"data":{"`+name+`":"djE="}}`)
	if code != 200 || body["data"].(map[string]any)["version"].(float64) != 1 {
		t.Fatalf("v2 PUT = %d %v", code, body)
	}
	code, body = tv.rawCall("PUT", data, token, `{"options":{"cas":0},"data":{"`+name+`":"other"}}`)
	if code != 400 || body["errors"].([]any)[0] != "check-and-set parameter did not match the current version" {
		t.Fatalf("v2 second cas 0 = %d %v", code, body)
	}
	code, body = tv.rawCall("GET", data+"?version=1", token, "")
	if code != 200 || body["data"].(map[string]any)["data"].(map[string]any)[name] != "djE=" {
		t.Fatalf("v2 GET = %d %v", code, body)
	}
	code, body = tv.rawCall("GET", "/v1/kv2/metadata/kes?list=true", token, "")
	if code != 200 || !slices.Equal(toStrings(body["data"].(map[string]any)["keys"]), []string{name}) {
		t.Fatalf("v2 list = %d %v", code, body)
	}
	for range 2 {
		if code, _ = tv.rawCall("DELETE", "/v1/kv2/metadata/kes/"+name, token, ""); code != 204 {
			t.Fatalf("v2 DELETE metadata = %d", code)
		}
	}
	if code, _ = tv.rawCall("GET", data, token, ""); code != 404 {
		t.Fatalf("v2 GET after delete = %d", code)
	}

	// Sealed: health still answers 299 with sealed=true, key ops 503.
	if code, _ = tv.rawCall("PUT", "/v1/sys/seal", root, ""); code != 204 {
		t.Fatalf("seal = %d", code)
	}
	code, body = tv.rawCall("GET", health, token, "")
	if code != 299 || body["sealed"] != true {
		t.Fatalf("sealed health = %d %v", code, body)
	}
	hr, err = tv.client(token).Sys().Health()
	if err != nil || !hr.Sealed {
		t.Fatalf("sealed Sys().Health() = %+v, %v", hr, err)
	}
	code, body = tv.rawCall("GET", entry, token, "")
	if code != 503 || body["errors"].([]any)[0] != "Vault is sealed" {
		t.Fatalf("sealed GET = %d %v", code, body)
	}
}

// TestKVv2ThroughCLIHelpers drives KV v2 with the api's KVv2 helpers (what
// `vault kv` does after sys/internal/ui/mounts).
func TestKVv2ThroughCLIHelpers(t *testing.T) {
	tv := startVault(t, testConfig(t))
	res := tv.initUnseal(1, 1)
	c := tv.client(res.RootToken)
	if err := c.Sys().Mount("secret", &api.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	code, body := tv.rawCall("GET", "/v1/sys/internal/ui/mounts/secret/foo", res.RootToken, "")
	d, _ := body["data"].(map[string]any)
	if code != 200 || d["type"] != "kv" || d["options"].(map[string]any)["version"] != "2" || d["path"] != "secret/" {
		t.Fatalf("ui mounts = %d %v", code, body)
	}
	kv := c.KVv2("secret")
	ctx := t.Context()
	if _, err := kv.Put(ctx, "app/db", map[string]any{"password": "one"}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "app/db", map[string]any{"password": "two"}); err != nil {
		t.Fatal(err)
	}
	s, err := kv.Get(ctx, "app/db")
	if err != nil || s.Data["password"] != "two" || s.VersionMetadata.Version != 2 {
		t.Fatalf("get = %+v, %v", s, err)
	}
	if s, err = kv.GetVersion(ctx, "app/db", 1); err != nil || s.Data["password"] != "one" {
		t.Fatalf("get v1 = %+v, %v", s, err)
	}
	if err := kv.Delete(ctx, "app/db"); err != nil {
		t.Fatal(err)
	}
	// A deleted version reads as 404 with metadata: the api returns no data.
	if s, err := kv.Get(ctx, "app/db"); err != nil || s.Data != nil || s.VersionMetadata.DeletionTime.IsZero() {
		t.Fatalf("get of deleted version = %+v, %v", s, err)
	}
	if err := kv.Undelete(ctx, "app/db", []int{2}); err != nil {
		t.Fatal(err)
	}
	if s, err = kv.Get(ctx, "app/db"); err != nil || s.Data["password"] != "two" {
		t.Fatalf("get after undelete = %+v, %v", s, err)
	}
	if err := kv.Destroy(ctx, "app/db", []int{1}); err != nil {
		t.Fatal(err)
	}
	if s, err := kv.GetVersion(ctx, "app/db", 1); err != nil || s.Data != nil || !s.VersionMetadata.Destroyed {
		t.Fatalf("destroyed version = %+v, %v", s, err)
	}
	m, err := kv.GetMetadata(ctx, "app/db")
	if err != nil || m.CurrentVersion != 2 || len(m.Versions) != 2 || !m.Versions["1"].Destroyed {
		t.Fatalf("metadata = %+v, %v", m, err)
	}
	// v1-style path on a v2 mount: 404 with a warning.
	code, body = tv.rawCall("GET", "/v1/secret/app/db", res.RootToken, "")
	if code != 404 || len(body["warnings"].([]any)) != 1 {
		t.Fatalf("v1 path on v2 = %d %v", code, body)
	}
	if err := kv.DeleteMetadata(ctx, "app/db"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.GetMetadata(ctx, "app/db"); err == nil {
		t.Fatal("metadata survived DeleteMetadata")
	}
}
