package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	vault "github.com/hashicorp/vault/api"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kmsbox/kmsbox/appliance/seed"
	"github.com/kmsbox/kmsbox/embeddedvault"
)

func readExampleSeed(t *testing.T) *seed.Seed {
	t.Helper()
	sd, err := seed.ReadFile("seed/testdata/example.yaml", seed.Options{VaultPolicy: embeddedvault.ParsePolicy})
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

// seedState is what a second apply of the example seed must leave as it is.
func seedState(t *testing.T, a *Appliance, dir string) string {
	t.Helper()
	token, _, err := a.seedRootToken()
	if err != nil {
		t.Fatal(err)
	}
	cfg := vault.DefaultConfig()
	cfg.Address = a.URL("vault")
	cfg.HttpClient = caClient(t, a.CAFile())
	vc, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vc.SetToken(token)
	ctx := context.Background()
	var b strings.Builder

	meta, err := vc.Logical().ReadWithContext(ctx, "secret/metadata/app/db")
	if err != nil || meta == nil {
		t.Fatalf("kv-v2 metadata: %v, %v", meta, err)
	}
	fmt.Fprintf(&b, "secret/app/db version %v\n", meta.Data["current_version"])
	db, err := vc.KVv2("secret").Get(ctx, "app/db")
	if err != nil || db.Data["password"] != "s3cret" {
		t.Fatalf("secret/app/db = %v, %v", db, err)
	}
	legacy, err := vc.Logical().ReadWithContext(ctx, "legacy/config")
	if err != nil || legacy == nil || legacy.Data["mode"] != "test" {
		t.Fatalf("legacy/config = %v, %v", legacy, err)
	}
	look, err := vc.Auth().Token().LookupWithContext(ctx, "app-token")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "app-token accessor %v policies %v\n", look.Data["accessor"], look.Data["policies"])

	// The AppRole logs in with the seed's fixed ids, and its token reads what app-read allows.
	login, err := vc.Logical().WriteWithContext(ctx, "auth/approle/login", map[string]any{"role_id": "app-role-id", "secret_id": "app-secret-id"})
	if err != nil || login.Auth == nil {
		t.Fatalf("approle login: %v, %v", login, err)
	}
	fmt.Fprintf(&b, "approle policies %v\n", login.Auth.Policies)
	if key, err := vc.Logical().ReadWithContext(ctx, "transit-app/keys/app-key"); err != nil || key == nil {
		t.Fatalf("transit key: %v, %v", key, err)
	}

	s3, err := minio.New(a.Addr("s3"), &minio.Options{Creds: credentials.NewStaticV4("seedaccess", "seedsecret123", ""), Secure: true,
		Transport: caClient(t, a.CAFile()).Transport})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct{ bucket, key, want string }{
		{"data", "greeting.txt", "hello, seed\n"},
		{"data", "dir/hello.txt", "hello from a file\n"},
	} {
		obj, err := s3.GetObject(ctx, o.bucket, o.key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || string(got) != o.want {
			t.Fatalf("%s/%s = %q, %v; want %q", o.bucket, o.key, got, err, o.want)
		}
		st, _ := obj.Stat()
		fmt.Fprintf(&b, "%s/%s etag %s modified %s\n", o.bucket, o.key, st.ETag, st.LastModified)
	}
	enc, err := s3.GetBucketEncryption(ctx, "kms-data")
	if err != nil || enc.Rules[0].Apply.SSEAlgorithm != "aws:kms" || enc.Rules[0].Apply.KmsMasterKeyID != "app-key-hex" {
		t.Fatalf("kms-data encryption = %+v, %v", enc, err)
	}
	if err := a.testSeedTargets().KES.ImportKey(ctx, "app-key-hex", make([]byte, 32)); !errors.Is(err, seed.ErrExists) {
		t.Fatalf("app-key-hex not made by the seed: %v", err)
	}
	if a.Addr("console") != "" {
		t.Error("console: false in the seed, but the console listens")
	}
	return b.String()
}

// testSeedTargets are the seed's targets over the current generation.
func (a *Appliance) testSeedTargets() seed.Targets {
	g := a.acquire()
	defer g.inflight.done()
	return a.seedTargets(g)
}

// seedRootToken returns the dev root token the seed targets use.
func (a *Appliance) seedRootToken() (string, bool, error) {
	v, ok := a.testSeedTargets().Vault.(vaultTarget)
	if !ok {
		return "", false, errors.New("no vault target")
	}
	return v.token, true, nil
}

func TestSeedAppliedBeforeReadyAndIdempotent(t *testing.T) {
	dir := t.TempDir()
	sd := readExampleSeed(t)
	a, stop := startAppliance(t, Config{DataDir: dir, Dev: true, Seed: sd, ConsoleAddr: "127.0.0.1:0"})
	first := seedState(t, a, dir)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A restart applies the seed again: nothing changes (no new secret version, same token,
	// same objects).
	a, _ = startAppliance(t, Config{DataDir: dir, Dev: true, Seed: sd})
	if second := seedState(t, a, dir); second != first {
		t.Errorf("state after the second apply:\n%s\nwant as after the first:\n%s", second, first)
	}
	// And applying it once more in place changes nothing either.
	if err := a.ApplySeed(context.Background()); err != nil {
		t.Fatal(err)
	}
	if third := seedState(t, a, dir); third != first {
		t.Errorf("state after ApplySeed:\n%s\nwant:\n%s", third, first)
	}
}

// A seed that changed between starts wins: the secret gets a new version with its value.
func TestSeedWinsOnRestart(t *testing.T) {
	dir := t.TempDir()
	sd := readExampleSeed(t)
	a, stop := startAppliance(t, Config{DataDir: dir, Dev: true, Seed: sd})
	_ = a
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	sd.Vault.Secrets[0].Data["password"] = "changed"
	a, _ = startAppliance(t, Config{DataDir: dir, Dev: true, Seed: sd})
	got, err := a.testSeedTargets().Vault.Request(context.Background(), http.MethodGet, "secret/data/app/db", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := got["data"].(map[string]any)
	if d["data"].(map[string]any)["password"] != "changed" || fmt.Sprint(d["metadata"].(map[string]any)["version"]) != "2" {
		t.Fatalf("secret after a changed seed = %v", d)
	}
}
