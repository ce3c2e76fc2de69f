package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kmsbox/kmsbox/appliance"
)

func TestEnvCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing-here")
	_, _, err := runApp(t, "env", "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "no env file in "+dir) || !strings.Contains(err.Error(), "kmsbox server --dev") {
		t.Errorf("env without a data dir: err = %v, want it to name the dir and 'kmsbox server --dev'", err)
	}

	dir = t.TempDir()
	content := "export VAULT_ADDR='https://127.0.0.1:8200'\n"
	if err := os.WriteFile(appliance.EnvFile(dir), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runApp(t, "env", "--data-dir", dir)
	if err != nil || out != content {
		t.Errorf("env printed %q, %v; want the file %q", out, err, content)
	}

	if _, _, err := runApp(t, "cert", "ca", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "no CA") {
		t.Errorf("cert ca without a CA: err = %v", err)
	}
}

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or writes it there with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s\nwant:\n%s", file, got, want)
	}
}

// Every format of `kmsbox env` against its golden file, as printed and with --host.
func TestEnvFormats(t *testing.T) {
	dir := filepath.Join("testdata", "env")
	for _, format := range envFormats {
		for _, host := range []string{"", "kmsbox"} {
			args := []string{"env", "--data-dir", dir, "--format", format}
			name := "env." + format + ".golden"
			if host != "" {
				args = append(args, "--host", host)
				name = "env." + format + ".host.golden"
			}
			out, _, err := runApp(t, args...)
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			golden(t, name, []byte(out))
		}
	}
	// shell without --host is the file itself; its parse gives the same variables back.
	out, _, _ := runApp(t, "env", "--data-dir", dir)
	if raw, _ := os.ReadFile(appliance.EnvFile(dir)); out != string(raw) {
		t.Errorf("env --format shell is not the env file")
	}
	vars, err := parseEnvFile([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := formatEnv(vars, "shell")
	if back, err := parseEnvFile(again); err != nil || !slices.Equal(back, vars) {
		t.Errorf("shell round trip: %v, %v", back, err)
	}

	// The compose block is YAML whose values are the variables; the JSON is an object of them.
	var compose struct {
		Environment map[string]string `yaml:"environment"`
	}
	b, _ := formatEnv(vars, "compose")
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	var obj map[string]string
	b, _ = formatEnv(vars, "json")
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if compose.Environment[v.name] != v.value || obj[v.name] != v.value {
			t.Errorf("%s: compose %q, json %q, want %q", v.name, compose.Environment[v.name], obj[v.name], v.value)
		}
	}

	if _, _, err := runApp(t, "env", "--data-dir", dir, "--format", "toml"); err == nil || !strings.Contains(err.Error(), "compose") {
		t.Errorf("--format toml: %v, want the list of formats", err)
	}
	quoted := []envVar{{"X", "it's"}}
	for _, f := range []string{"dotenv", "github"} {
		if _, err := formatEnv(quoted, f); err == nil {
			t.Errorf("%s with a quote in a value: no error", f)
		}
	}
	if b, _ := formatEnv(quoted, "shell"); string(b) != "export X='it'\\''s'\n" {
		t.Errorf("shell quoting: %s", b)
	}
}
