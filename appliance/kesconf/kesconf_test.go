package kesconf

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestGuideTOML(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "guide.toml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Format:  TOML,
		Address: "127.0.0.1:7373",
		TLS:     TLS{Key: "./kes-tls.key", Cert: "./kes-tls.crt"},
		Policies: map[string]Policy{"minio": {
			Allow:      []string{"/v1/key/create/minio-*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*"},
			Identities: []string{"dd46485bedc9ad2909d2e8f9017216eec4413bc5c64b236d992f7ec19c843c5f"},
		}},
		Cache: Cache{Any: 5 * time.Minute, Unused: 20 * time.Second},
		KeyStore: KeyStore{Vault: &Vault{
			Endpoint:   "https://127.0.0.1:8200",
			Engine:     "kv",
			Version:    "v1",
			Prefix:     "minio",
			AppRole:    &AppRole{Engine: "approle", Retry: 15 * time.Second},
			TLS:        VaultTLS{CA: "./vault-tls.crt"},
			StatusPing: 10 * time.Second,
		}},
	}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got  %+v\nwant %+v\nvault %+v", f, want, f.KeyStore.Vault)
	}
}

func TestCurrentYAML(t *testing.T) {
	env := map[string]string{
		"MONITORING_IDENTITY":  "aa11",
		"EXTRA_KEY":            "backup-key",
		"VAULT_APPROLE_ID":     "role-id",
		"VAULT_APPROLE_SECRET": "secret-id",
	}
	data, err := os.ReadFile(filepath.Join("testdata", "server-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseYAML(data, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Format:  YAML,
		Address: "0.0.0.0:7373",
		Admin:   "disabled",
		TLS:     TLS{Key: "./private.key", Cert: "./public.crt", CA: "./clients-ca.crt", Auth: "verify"},
		Policies: map[string]Policy{
			"minio": {
				Allow:      []string{"/v1/key/create/minio-*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*"},
				Deny:       []string{"/v1/key/delete/*"},
				Identities: []string{"dd46485bedc9ad2909d2e8f9017216eec4413bc5c64b236d992f7ec19c843c5f"},
			},
			"monitoring": {Allow: []string{"/v1/metrics", "/v1/status"}, Identities: []string{"aa11"}},
		},
		Cache: Cache{Any: 5 * time.Minute, Unused: 20 * time.Second, Offline: time.Hour},
		Log:   Log{Error: "on", Audit: "off"},
		API:   map[string]API{"/v1/metrics": {Timeout: 15 * time.Second}},
		Keys:  []string{"minio-key-1", "backup-key"},
		KeyStore: KeyStore{Vault: &Vault{
			Endpoint:   "https://127.0.0.1:8200",
			Engine:     "kv",
			Version:    "v2",
			Prefix:     "minio",
			AppRole:    &AppRole{Engine: "approle", ID: "role-id", Secret: "secret-id", Retry: 15 * time.Second},
			TLS:        VaultTLS{CA: "./vault-tls.crt"},
			StatusPing: 10 * time.Second,
		}},
	}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got  %+v\nwant %+v\nvault %+v", f, want, f.KeyStore.Vault)
	}
}

func TestReadFileDispatch(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(yml, []byte("admin:\n  identity: disabled\naddress: :7373\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(yml)
	if err != nil || f.Format != YAML || f.Address != ":7373" {
		t.Fatalf("yaml: %+v %v", f, err)
	}
	toml := filepath.Join(dir, "config.TOML")
	if err := os.WriteFile(toml, []byte("root = \"disabled\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err = ReadFile(toml)
	if err != nil || f.Format != TOML || f.Admin != "disabled" {
		t.Fatalf("toml: %+v %v", f, err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestErrors(t *testing.T) {
	const yamlBase = "admin:\n  identity: disabled\n"
	tests := []struct {
		name   string
		format Format
		data   string
		want   []string
	}{
		{"toml-unknown-key", TOML, "[keystore.vault]\nadress = \"x\"\n", []string{"unknown key 'keystore.vault.adress'"}},
		{"toml-unknown-table", TOML, "[keystore.aws.secrets_manager]\nregion = \"x\"\n", []string{"unknown key 'keystore.aws"}},
		{"toml-bad-duration", TOML, "[cache.expiry]\nall = \"5 minutes\"\nunused = \"-1s\"\n", []string{"cache.expiry.all: invalid duration", "cache.expiry.unused: duration \"-1s\" is negative"}},
		{"toml-wrong-type", TOML, "[policy.minio]\npaths = \"/v1/*\"\n", []string{"policy.minio.paths"}},
		{"toml-syntax", TOML, "address = \n", []string{"kesconf: toml:"}},
		{"toml-no-endpoint", TOML, "[keystore.vault]\nname = \"minio\"\n", []string{"keystore.vault.address: no Vault endpoint"}},
		{"toml-bad-ping", TOML, "[keystore.vault]\naddress = \"https://v\"\n[keystore.vault.status]\nping = \"often\"\n", []string{"keystore.vault.status.ping: invalid duration \"often\""}},
		{"toml-root-in-policy", TOML, "root = \"abc\"\n[policy.p]\npaths = [\"/v1/*\"]\nidentities = [\"abc\"]\n", []string{"policy.p.identities: identity 'abc' is already admin"}},
		{"toml-empty-pattern", TOML, "[policy.p]\npaths = [\"\"]\n", []string{"policy.p: empty path pattern"}},
		{"yaml-unknown-key", YAML, yamlBase + "keystore:\n  vault:\n    endpoint: https://v\n    approle:\n      idd: x\n", []string{"unknown key 'keystore.vault.approle.idd' (line 7)"}},
		{"yaml-unknown-top", YAML, yamlBase + "adress: x\n", []string{"unknown key 'adress'"}},
		{"yaml-other-keystore", YAML, yamlBase + "keystore:\n  aws:\n    secretsmanager: {}\n", []string{"unknown key 'keystore.aws'"}},
		{"yaml-bad-duration", YAML, yamlBase + "cache:\n  expiry:\n    offline: soon\n", []string{"cache.expiry.offline: invalid duration \"soon\""}},
		{"yaml-missing-env", YAML, yamlBase + "tls:\n  key: ${NOPE_NOT_SET}\n", []string{"tls.key: environment variable 'NOPE_NOT_SET' is not set"}},
		{"yaml-bad-auth", YAML, yamlBase + "tls:\n  auth: maybe\n", []string{"tls.auth: invalid value \"maybe\""}},
		{"yaml-list-for-value", YAML, yamlBase + "address: [a, b]\n", []string{"address: want a single value"}},
		{"yaml-value-for-list", YAML, yamlBase + "policy:\n  p:\n    allow: /v1/*\n", []string{"policy.p.allow: want a list"}},
		{"yaml-no-admin", YAML, "address: :7373\n", []string{"admin.identity: no admin identity"}},
		{"yaml-dup-keys", YAML, yamlBase + "keys:\n- name: a\n- name: a\n- name: \"\"\n", []string{"keys[1].name: key 'a' is defined multiple times", "keys[2].name: empty key name"}},
		{"yaml-bad-version", YAML, yamlBase + "version: v2\n", []string{"version: unsupported config version \"v2\""}},
		{"yaml-bad-kv-version", YAML, yamlBase + "keystore:\n  vault:\n    endpoint: https://v\n    version: v3\n", []string{"keystore.vault.version: invalid K/V version \"v3\""}},
		{"yaml-vault-tls-half", YAML, yamlBase + "keystore:\n  vault:\n    endpoint: https://v\n    tls:\n      key: k.pem\n", []string{"keystore.vault.tls: key and cert must be set together"}},
		{"yaml-bad-log", YAML, yamlBase + "log:\n  error: loud\n", []string{"log.error: invalid value \"loud\""}},
		{"yaml-bad-skip-auth", YAML, yamlBase + "api:\n  /v1/status:\n    skip_auth: perhaps\n", []string{"api./v1/status.skip_auth: invalid value"}},
		{"yaml-syntax", YAML, "a: [\n", []string{"kesconf: yaml:"}},
		{"yaml-two-stores", YAML, yamlBase + "keystore:\n  fs:\n    path: /tmp/k\n  vault:\n    endpoint: https://v\n", []string{"more than one key store"}},
		{"yaml-not-a-map", YAML, "- a\n- b\n", []string{"config: want a mapping of keys"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.format == TOML {
				_, err = ParseTOML([]byte(tc.data))
			} else {
				_, err = ParseYAML([]byte(tc.data), nil)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestTOMLLogFiles(t *testing.T) {
	f, err := ParseTOML([]byte("[log.error]\nfile = \"/var/log/kes-error.log\"\n[log.audit]\nfile = [\"/a\", \"/b\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Log.ErrorFiles, []string{"/var/log/kes-error.log"}) || !reflect.DeepEqual(f.Log.AuditFiles, []string{"/a", "/b"}) {
		t.Fatalf("log: %+v", f.Log)
	}
	if _, err := ParseTOML([]byte("[log.audit]\nfile = 3\n")); err == nil {
		t.Fatal("numeric file accepted")
	}
}

func FuzzParseTOML(f *testing.F) {
	guide, _ := os.ReadFile(filepath.Join("testdata", "guide.toml"))
	f.Add(guide)
	f.Add([]byte("root = \"disabled\"\n[cache.expiry]\nall = \"1m\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseTOML(data)
		if err != nil {
			return
		}
		if file.Format != TOML || file.Cache.Any < 0 || file.Cache.Unused < 0 {
			t.Fatalf("bad result %+v", file)
		}
		if v := file.KeyStore.Vault; v != nil && (v.Endpoint == "" || v.Engine != "kv") {
			t.Fatalf("bad vault %+v", v)
		}
	})
}

func FuzzParseYAML(f *testing.F) {
	sample, _ := os.ReadFile(filepath.Join("testdata", "server-config.yaml"))
	f.Add(sample)
	f.Add([]byte("admin:\n  identity: ${A}\n"))
	f.Add([]byte("admin: {identity: x}\nkeys: [{name: a}]\n"))
	env := func(k string) (string, bool) { return "v-" + k, k != "" && k[0] != 'N' }
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseYAML(data, env)
		if err != nil {
			return
		}
		if file.Format != YAML || file.Admin == "" || file.Cache.Offline < 0 {
			t.Fatalf("bad result %+v", file)
		}
		for _, k := range file.Keys {
			if k == "" {
				t.Fatal("empty key name accepted")
			}
		}
	})
}

func TestYAMLAliasBomb(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("admin:\n  identity: x\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&sb, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	sb.WriteString("keys: *a11\n")
	done := make(chan error, 1)
	go func() { _, err := ParseYAML([]byte(sb.String()), nil); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("alias bomb accepted")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("alias bomb not rejected in time")
	}
}
