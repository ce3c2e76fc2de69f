package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// runApp runs the CLI in-process with args the way main does; exit codes come back as errors
// instead of ending the test binary.
func runApp(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	app := newApp(&o, &e)
	app.ExitErrHandler = func(*cli.Context, error) {}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = app.RunContext(ctx, flagsFirst(app.Commands, append([]string{"kmsbox"}, args...))) // as main does
	if ctx.Err() != nil {
		t.Fatalf("kmsbox %s ran until the test's timeout", strings.Join(args, " "))
	}
	return o.String(), e.String(), err
}

func TestUsage(t *testing.T) {
	out, _, err := runApp(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"server", "health", "env", "cert", "identity", "version"} {
		if !regexp.MustCompile(`(?m)^\s+` + c + `\b`).MatchString(out) {
			t.Errorf("usage does not list the %s command:\n%s", c, out)
		}
	}

	defaults := map[string]string{
		"data-dir": "./kmsbox-data", "vault-addr": "127.0.0.1:8200", "kes-addr": "127.0.0.1:7373",
		"s3-addr": "127.0.0.1:9000", "console-addr": "127.0.0.1:9001", "log-level": "info", "log-format": "text",
	}
	seen := map[string]bool{}
	for _, f := range serverCommand().Flags {
		df, ok := f.(cli.DocGenerationFlag)
		if !ok {
			t.Fatalf("flag %v has no documentation", f.Names())
		}
		name := f.Names()[0]
		seen[name] = true
		if df.GetUsage() == "" {
			t.Errorf("--%s has no usage text", name)
		}
		if !slices.ContainsFunc(df.GetEnvVars(), func(e string) bool { return strings.HasPrefix(e, "KMSBOX_") }) {
			t.Errorf("--%s has no KMSBOX_* environment variable (%v)", name, df.GetEnvVars())
		}
		if want, ok := defaults[name]; ok && df.GetValue() != want {
			t.Errorf("--%s defaults to %q, want %q", name, df.GetValue(), want)
		}
	}
	for _, want := range []string{"data-dir", "vault-addr", "kes-addr", "s3-addr", "san", "dev", "log-level", "log-format", "mlock"} {
		if !seen[want] {
			t.Errorf("kmsbox server has no --%s", want)
		}
	}
	out, _, err = runApp(t, "server", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--data-dir", "KMSBOX_DATA_DIR", "--s3-addr", "KMSBOX_S3_ADDR", "--mlock"} {
		if !strings.Contains(out, want) {
			t.Errorf("server --help lacks %s:\n%s", want, out)
		}
	}
}

// TestFlagsAreNotShared runs two apps one after the other: urfave/cli writes into a flag
// while parsing (the value of its environment variable becomes its default), so an app that
// shared a flag with an earlier one would show that one's environment.
func TestFlagsAreNotShared(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "from-env")
	t.Setenv("KMSBOX_DATA_DIR", dir)
	if _, _, err := runApp(t, "env"); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("env with KMSBOX_DATA_DIR=%s: err = %v, want it to name that dir", dir, err)
	}
	os.Unsetenv("KMSBOX_DATA_DIR") // t.Setenv restores it
	for _, cmd := range []string{"server", "health", "env"} {
		out, _, err := runApp(t, cmd, "--help")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, dir) || !strings.Contains(out, `(default: "./kmsbox-data")`) {
			t.Errorf("%s --help after a run with KMSBOX_DATA_DIR set:\n%s", cmd, out)
		}
	}
}
