//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// composeService is the part of a docker-compose.yml service the fixture test runs.
type composeService struct {
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
}

// TestComposeFixture runs docker-compose.yml without Docker: the kmsbox service's command line
// (its seed file from the repo, loopback ports), then the client service's script with Debian's
// aws cli and the selftest service's command, each with the environment the file gives it.
// So the example a user copies is what this suite has run.
func TestComposeFixture(t *testing.T) {
	// The client script relies on AWS_ENDPOINT_URL, which the image's current aws cli v2 and
	// aws cli v1 >= 1.29 read; Debian's v2 (2.9) predates it, so the script runs with v1.
	aws, _ := awsCLIs(t)
	bin := kmsboxBin(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	kms, client := file.Services["kmsbox"], file.Services["client"]

	// The container's paths are the repo's files: `- ./testdata/x.yaml:/seed.yaml:ro`.
	hostPath := map[string]string{}
	for _, v := range kms.Volumes {
		if parts := strings.Split(v, ":"); len(parts) >= 2 && strings.HasPrefix(parts[0], "./") {
			hostPath[parts[1]] = filepath.Join("..", "..", parts[0])
		}
	}
	var extra []string
	for i := 1; i < len(kms.Command); i++ { // [0] is "server"; serverArgs adds --dev and the ports
		a := kms.Command[i]
		switch {
		case a == "--dev":
		case a == "--san":
			i++
		case hostPath[a] != "":
			abs, err := filepath.Abs(hostPath[a])
			if err != nil {
				t.Fatal(err)
			}
			extra = append(extra, abs)
		default:
			extra = append(extra, a)
		}
	}
	if !slices.Contains(extra, "--seed") {
		t.Fatalf("the kmsbox service runs %q: no --seed", kms.Command)
	}
	var env []string
	for k, v := range kms.Environment {
		env = append(env, k+"="+v)
	}
	srv := spawn(t, serverArgs(t.TempDir(), extra...), env...)
	srv.waitReady(t)

	script := client.Command[0]
	cenv := baseEnv(t.TempDir())
	for k, v := range client.Environment {
		switch k {
		case "AWS_ENDPOINT_URL":
			v = srv.urls["s3"]
		case "AWS_CA_BUNDLE":
			v = srv.caFile()
		}
		cenv = append(cenv, k+"="+v)
	}
	// Compose turns $$ into $; the script finds the aws cli as `aws` first on PATH.
	script = strings.ReplaceAll(script, "$$", "$")
	dir := t.TempDir()
	if err := os.Symlink(aws, filepath.Join(dir, "aws")); err != nil {
		t.Fatal(err)
	}
	for i, kv := range cenv {
		if strings.HasPrefix(kv, "PATH=") {
			cenv[i] = "PATH=" + dir + ":" + strings.TrimPrefix(kv, "PATH=")
		}
	}
	out := cmd{env: cenv}.ok(t, "sh", "-ec", script)
	t.Logf("client service:\n%s", out)

	out = cmd{env: baseEnv(t.TempDir())}.ok(t, bin, "selftest", "--data-dir", srv.dataDir)
	if !strings.Contains(out, "checks passed") {
		t.Errorf("selftest service: %s", out)
	}
}
