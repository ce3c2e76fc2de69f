package vaultconf

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// guideConfig is the KMS guide's vault-config.json.
const guideConfig = `{"api_addr":"https://127.0.0.1:8200","backend":{"file":{"path":"vault/file"}},"default_lease_ttl":"168h","max_lease_ttl":"720h","listener":{"tcp":{"address":"0.0.0.0:8200","tls_cert_file":"vault.crt","tls_key_file":"vault.key","tls_min_version":"tls12"}}}`

func TestGuideConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault-config.json")
	if err := os.WriteFile(path, []byte(guideConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	c, ignored, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{ListenAddr: "0.0.0.0:8200", TLSCertFile: "vault.crt", TLSKeyFile: "vault.key",
		TLSMinVersion: tls.VersionTLS12, StoragePath: "vault/file", StorageType: "file",
		DefaultLeaseTTL: 168 * time.Hour, MaxLeaseTTL: 720 * time.Hour, APIAddr: "https://127.0.0.1:8200"}
	if *c != want {
		t.Fatalf("Load = %+v\nwant   %+v", *c, want)
	}
	if len(ignored) != 0 {
		t.Fatalf("ignored = %v", ignored)
	}
	if got := c.DBPath(); got != filepath.Join("vault", "file", "vault.db") {
		t.Fatalf("DBPath = %q", got)
	}
}

func TestHCLAndIgnoredKeys(t *testing.T) {
	src := `
ui = true
disable_mlock = true
cluster_addr = "https://127.0.0.1:8201"
storage "raft" {
  path    = "/var/lib/vault"
  node_id = "n1"
}
listener "tcp" {
  address            = "127.0.0.1:8200"
  tls_disable        = 1
  tls_client_ca_file = "ca.pem"
}
listener "unix" {
  address = "/run/vault.sock"
}
default_lease_ttl = 3600
max_lease_ttl = "30d"
`
	c, ignored, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.StoragePath != "/var/lib/vault" || c.StorageType != "raft" || !c.TLSDisable || c.ListenAddr != "127.0.0.1:8200" ||
		c.DefaultLeaseTTL != time.Hour || c.MaxLeaseTTL != 30*24*time.Hour {
		t.Fatalf("Parse = %+v", c)
	}
	want := []string{"cluster_addr", "disable_mlock", "listener.tcp.tls_client_ca_file", "listener.unix", "storage.raft.node_id", "ui"}
	if !slices.Equal(ignored, want) {
		t.Fatalf("ignored = %v, want %v", ignored, want)
	}
}

func TestBadValues(t *testing.T) {
	for name, tc := range map[string]struct{ src, key string }{
		"bad duration":     {`{"default_lease_ttl":"soon"}`, "default_lease_ttl"},
		"negative":         {`{"max_lease_ttl":-5}`, "max_lease_ttl"},
		"bool duration":    {`{"max_lease_ttl":true}`, "max_lease_ttl"},
		"tls version":      {`{"listener":{"tcp":{"tls_min_version":"ssl3"}}}`, "listener.tcp.tls_min_version"},
		"address type":     {`{"listener":{"tcp":{"address":8200}}}`, "listener.tcp.address"},
		"storage type":     {`{"storage":{"consul":{"path":"x"}}}`, "storage.consul"},
		"storage no path":  {`{"backend":{"file":{}}}`, "backend.file.path"},
		"two storages":     {`{"storage":{"file":{"path":"a"}},"backend":{"file":{"path":"b"}}}`, "only one storage"},
		"default > max":    {`{"default_lease_ttl":"2h","max_lease_ttl":"1h"}`, "default_lease_ttl"},
		"syntax":           {`{"api_addr":`, "parse"},
		"listener not obj": {`{"listener":"tcp"}`, "listener"},
		"tls_disable":      {`{"listener":{"tcp":{"tls_disable":"maybe"}}}`, "listener.tcp.tls_disable"},
	} {
		_, _, err := Parse([]byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: err = %v, want mention of %q", name, err, tc.key)
		}
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{guideConfig, `listener "tcp" { address = "a" }`, `{"storage":{"file":{"path":1}}}`, `{`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ignored, err := Parse(data)
		if err != nil {
			if c != nil || ignored != nil {
				t.Fatal("result with error")
			}
			return
		}
		if c.DefaultLeaseTTL < 0 || c.MaxLeaseTTL < 0 {
			t.Fatalf("negative TTL accepted: %+v", c)
		}
	})
}

// TestBlockShapes: a stanza may be an object or a list of objects at both
// levels; the first tcp listener wins and a second is reported as ignored;
// anything else is an error naming the key.
func TestBlockShapes(t *testing.T) {
	for name, tc := range map[string]struct {
		src, addr string
		ignored   []string
		err       string
	}{
		"list of blocks":    {src: `{"listener":[{"tcp":{"address":"a:1"}}]}`, addr: "a:1"},
		"list of bodies":    {src: `{"listener":{"tcp":[{"address":"a:1"}]}}`, addr: "a:1"},
		"two tcp JSON":      {src: `{"listener":{"tcp":[{"address":"a:1"},{"address":"b:1"}]}}`, addr: "a:1", ignored: []string{"listener.tcp"}},
		"two tcp HCL":       {src: "listener \"tcp\" {\n address = \"a:1\"\n}\nlistener \"tcp\" {\n address = \"b:1\"\n}\n", addr: "a:1", ignored: []string{"listener.tcp"}},
		"list of strings":   {src: `{"listener":["tcp"]}`, err: "listener: object expected"},
		"string body":       {src: `{"listener":{"tcp":"x"}}`, err: "listener.tcp: object expected, got string"},
		"two file storages": {src: `{"storage":{"file":[{"path":"a"},{"path":"b"}]}}`, err: "storage.file: only one storage stanza is allowed"},
	} {
		c, ignored, err := Parse([]byte(tc.src))
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || c != nil {
				t.Errorf("%s: Parse = %+v, %v; want error %q", name, c, err, tc.err)
			}
			continue
		}
		if err != nil || c.ListenAddr != tc.addr || !slices.Equal(ignored, tc.ignored) {
			t.Errorf("%s: Parse = %+v, ignored %v, %v; want address %q, ignored %v", name, c, ignored, err, tc.addr, tc.ignored)
		}
	}
}
