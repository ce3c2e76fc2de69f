package appliance

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// selftestConfig is the SelftestConfig of the dev appliance in dir, from its env file.
func selftestConfig(t *testing.T, dir string) SelftestConfig {
	env := mustRead(t, EnvFile(dir))
	v := func(name string) string { return envValue(env, name) }
	return SelftestConfig{
		VaultAddr: v("VAULT_ADDR"), VaultToken: v("VAULT_TOKEN"), VaultCACert: v("VAULT_CACERT"),
		KESServer: v("KES_SERVER"), KESCert: v("KES_CLIENT_CERT"), KESKey: v("KES_CLIENT_KEY"), KESCA: v("VAULT_CACERT"),
		S3Endpoint: v("AWS_ENDPOINT_URL"), S3CA: v("AWS_CA_BUNDLE"), AccessKey: v("AWS_ACCESS_KEY_ID"),
		SecretKey: v("AWS_SECRET_ACCESS_KEY"), Region: v("AWS_REGION"),
	}
}

func TestSelftest(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true})
	cfg := selftestConfig(t, dir)
	checks := Selftest(context.Background(), cfg)
	if len(checks) != 4 {
		t.Errorf("%d checks, want 4 (no Transit configured): %v", len(checks), checks)
	}
	for _, c := range checks {
		if c.Err != nil {
			t.Errorf("%s: %v", c.Name, c.Err)
		}
	}
	// It cleans up: no bucket, no extra KES key, no extra mount.
	keys, _ := a.gen.kes.ListKeys(context.Background(), "")
	if len(keys) != 1 {
		t.Errorf("KES keys after selftest: %v", keys)
	}
	if b, _ := a.gen.s3.Buckets(context.Background()); len(b) != 0 {
		t.Errorf("buckets after selftest: %v", b)
	}

	// Wrong credentials fail the checks that use them, and only those.
	bad := cfg
	bad.SecretKey = "wrong"
	bad.KESCert, bad.KESKey = filepath.Join(dir, "certs", "minio.crt"), filepath.Join(dir, "certs", "minio.key")
	failed := map[string]bool{}
	for _, c := range Selftest(context.Background(), bad) {
		failed[strings.Fields(c.Name)[0]] = c.Err != nil
	}
	if want := map[string]bool{"vault": false, "kes": true, "s3": true}; len(failed) != 3 || failed["vault"] || !failed["kes"] || !failed["s3"] {
		t.Errorf("failed checks with a wrong S3 secret and the MinIO identity: %v, want %v", failed, want)
	}
}
