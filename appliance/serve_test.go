package appliance

import (
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListenPortInUse(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	_, err = listen(taken.Addr().String(), "S3 API", "--s3-addr")
	if err == nil {
		t.Fatal("listen on a taken port succeeded")
	}
	want := "cannot listen on " + taken.Addr().String() + " for the S3 API: address already in use (choose another with --s3-addr)"
	if err.Error() != want {
		t.Fatalf("error = %q\nwant    %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatal("error is more than one line")
	}
}

func TestDisplayAndDialAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"0.0.0.0:8200", "127.0.0.1:8200"},
		{":9000", "127.0.0.1:9000"},
		{"[::]:7373", "127.0.0.1:7373"},
		{"127.0.0.1:8200", "127.0.0.1:8200"},
		{"[::1]:8200", "[::1]:8200"},
		{"kmsbox:9000", "kmsbox:9000"},
	} {
		if got := dialAddr(tc.in); got != tc.want {
			t.Errorf("dialAddr(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := displayAddr(ln.Addr()); !strings.HasPrefix(got, "127.0.0.1:") {
		t.Fatalf("displayAddr(%v) = %q, want 127.0.0.1:port", ln.Addr(), got)
	}
}

func TestWriteEnvFile(t *testing.T) {
	t.Parallel()
	name := filepath.Join(t.TempDir(), envFileName)
	err := writeEnvFile(name, []envVar{
		{"VAULT_TOKEN", "hvs.abc"},
		{"EMPTY", ""},
		{"QUOTED", "it's $HOME"},
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("env file mode = %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(name)
	got := string(b)
	for _, want := range []string{"export VAULT_TOKEN='hvs.abc'\n", `export QUOTED='it'\''s $HOME'` + "\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("env file lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "EMPTY") {
		t.Errorf("env file exports an empty variable:\n%s", got)
	}
	if entries, err := os.ReadDir(filepath.Dir(name)); err != nil || len(entries) != 1 {
		t.Errorf("directory holds %v (%v), want only the env file", entries, err)
	}
}

func TestDevCredentialsPersist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := loadDevCredentials(dir, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.AccessKey) < 16 || len(a.SecretKey) != 40 {
		t.Fatalf("weak dev credentials: %d/%d chars", len(a.AccessKey), len(a.SecretKey))
	}
	b, err := loadDevCredentials(dir, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("dev credentials changed across loads")
	}
	fi, _ := os.Stat(filepath.Join(dir, devCredentialsFile))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode = %v", fi.Mode().Perm())
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
		t.Fatalf("data dir holds %v (%v), want only the credentials file", entries, err)
	}
	os.WriteFile(filepath.Join(dir, devCredentialsFile), []byte("{"), 0o600)
	if _, err := loadDevCredentials(dir, rand.Reader); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged file: err = %v", err)
	}
}
