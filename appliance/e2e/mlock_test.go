//go:build e2e

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMlock: --mlock locks memory where that is permitted (root here), and where it is not
// (an unprivileged user with RLIMIT_MEMLOCK 0) start-up stops with one clear line and exit 1.
func TestMlock(t *testing.T) {
	bin := kmsboxBin(t)
	t.Run("permitted", func(t *testing.T) {
		p := startServer(t, t.TempDir(), "--mlock")
		p.mustStop(t)
	})
	t.Run("not permitted", func(t *testing.T) {
		for _, tool := range []string{"prlimit", "setpriv"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Fatalf("%s (util-linux) is needed: apt-get install util-linux", tool)
			}
		}
		dir := filepath.Join(t.TempDir(), "data")
		out, err := exec.Command("prlimit", "--memlock=0:0", "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
			bin, "server", "--mlock", "--data-dir", dir).CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Fatalf("kmsbox server --mlock without permission: err = %v, want exit 1\n%s", err, out)
		}
		msg := strings.TrimSpace(string(out))
		if strings.Contains(msg, "\n") || !strings.Contains(msg, "--mlock: cannot lock memory") {
			t.Fatalf("want one clear line about --mlock, got:\n%s", msg)
		}
	})
}
