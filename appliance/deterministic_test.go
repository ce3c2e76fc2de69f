package appliance

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// detStart starts a fresh dev appliance in a new dir with --deterministic seed (on the
// given addresses, so that URLs agree too) and returns its env file with the data dir
// replaced by $DIR, its banner, its logs and the appliance.
func detStart(t *testing.T, seed string, addrs [3]string) (env, banner, logs string, a *Appliance) {
	t.Helper()
	dir := t.TempDir()
	var out, log bytes.Buffer
	a, stop := startAppliance(t, Config{DataDir: dir, Dev: true, Deterministic: seed, Seed: readExampleSeed(t),
		VaultAddr: addrs[0], KESAddr: addrs[1], S3Addr: addrs[2], Out: &out,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	raw, err := os.ReadFile(EnvFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(raw), dir, "$DIR"), strings.ReplaceAll(out.String(), dir, "$DIR"), log.String(), a
}

func TestDeterministicStartsAgree(t *testing.T) {
	free := [3]string{"127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"}
	env1, banner1, logs, a := detStart(t, "ci-seed-1", free)
	same := [3]string{a.Addr("vault"), a.Addr("kes"), a.Addr("s3")}
	env2, banner2, _, b := detStart(t, "ci-seed-1", same)

	if env1 != env2 {
		t.Errorf("env files differ with the same seed:\n%s\n%s", env1, env2)
	}
	if banner1 != banner2 {
		t.Errorf("banners differ with the same seed:\n%s\n%s", banner1, banner2)
	}
	if a.adminID != b.adminID || a.minioID != b.minioID {
		t.Errorf("identities differ: %s/%s vs %s/%s", a.adminID, a.minioID, b.adminID, b.minioID)
	}
	for _, want := range []string{"VAULT_TOKEN='hvs.", "AWS_ACCESS_KEY_ID='seedaccess'"} {
		if !strings.Contains(env1, want) {
			t.Errorf("env file lacks %s:\n%s", want, env1)
		}
	}
	if !strings.HasPrefix(banner1, "kmsbox "+deterministicNote) {
		t.Errorf("banner does not start with the deterministic note:\n%s", banner1)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !strings.Contains(line, `deterministic="`+deterministicNote+`"`) {
			t.Errorf("log line without the deterministic note: %s", line)
		}
	}

	env3, banner3, _, c := detStart(t, "ci-seed-2", same)
	token := func(s string) string { _, after, _ := strings.Cut(s, "root token"); return strings.Fields(after)[0] }
	if env3 == env1 || token(banner3) == token(banner1) || c.adminID == a.adminID || c.minioID == a.minioID {
		t.Errorf("another seed gave the same credentials:\n%s", banner3)
	}
}

func TestDeterministicDevCredentials(t *testing.T) {
	load := func(seed string) devCredentials {
		c, err := loadDevCredentials(t.TempDir(), newDeriver(seed).reader("s3 credentials"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b, c := load("s1"), load("s1"), load("s2")
	if a != b || a == c || len(a.SecretKey) != 40 {
		t.Fatalf("credentials: same seed %v and %v, other seed %v", a, b, c)
	}
	// A stream longer than one HKDF expansion (8160 bytes) goes on.
	if s := randomString(newDeriver("s1").reader("long"), 20000); len(s) != 20000 || strings.Count(s, s[:8]) > 2 {
		t.Fatalf("long stream: %d characters", len(s))
	}
}
