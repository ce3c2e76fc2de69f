package seed

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmsbox/kmsbox/embeddedvault"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var opts = Options{Dir: "testdata", VaultPolicy: embeddedvault.ParsePolicy}

// Every bad seed gives exactly the messages of its golden file: each problem once, by
// file:line:column and path, and nothing is returned to apply.
func TestParseBadSeeds(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) < 6 {
		t.Fatalf("only %d bad seeds", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := Parse(filepath.Base(f), data, opts)
			if err == nil || sd != nil {
				t.Fatalf("Parse = %v, %v; want an error", sd, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("messages:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestParseExample(t *testing.T) {
	sd, err := ReadFile("testdata/example.yaml", Options{VaultPolicy: embeddedvault.ParsePolicy})
	if err != nil {
		t.Fatal(err)
	}
	v, k, s := sd.Vault, sd.KES, sd.S3
	if len(v.Mounts) != 3 || len(v.Secrets) != 2 || len(v.Policies) != 2 || len(v.AppRoles) != 1 || len(v.Tokens) != 1 ||
		len(k.Keys) != 3 || len(k.Identities) != 1 || len(k.Policies) != 1 || len(s.Buckets) != 3 ||
		s.AccessKey != "seedaccess" || sd.Console == nil || *sd.Console {
		t.Fatalf("example seed = %+v", sd)
	}
	if !strings.Contains(v.Policies[0].Policy, `path "secret/data/app/*"`) || string(s.Buckets[0].Objects[1].Content) != "hello from a file\n" {
		t.Errorf("files not read: policy %q, object %q", v.Policies[0].Policy, s.Buckets[0].Objects[1].Content)
	}
	if string(k.Keys[1].Material) != string(k.Keys[2].Material) || len(k.Keys[1].Material) != 32 || k.Keys[0].Material != nil {
		t.Errorf("key material: %x %x %x", k.Keys[0].Material, k.Keys[1].Material, k.Keys[2].Material)
	}
}

func TestParseEmptyAndAliases(t *testing.T) {
	if sd, err := Parse("empty.yaml", nil, opts); err != nil || sd == nil {
		t.Fatalf("empty seed: %v, %v", sd, err)
	}
	_, err := Parse("alias.yaml", []byte("s3:\n  buckets:\n    - &b {name: data}\n    - *b\n"), opts)
	if err == nil || err.Error() != "alias.yaml:4:7: s3.buckets[1]: aliases are not supported in a seed file" {
		t.Fatalf("alias: %v", err)
	}
	if _, err := Parse("top.yaml", []byte("- a\n"), opts); err == nil || err.Error() != "top.yaml:1:1: want a mapping, got a list" {
		t.Fatalf("list at the top: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/example.yaml", "testdata/bad/bad-values.yaml", "testdata/bad/unknown-key.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := Parse("fuzz.yaml", data, Options{Dir: t.TempDir(), VaultPolicy: embeddedvault.ParsePolicy})
		if (sd == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v: want exactly one", sd, err)
		}
		if err == nil {
			for _, k := range sd.KES.Keys {
				if k.Material != nil && len(k.Material) != 32 {
					t.Fatalf("key %s accepted with %d bytes", k.Name, len(k.Material))
				}
			}
		}
	})
}
