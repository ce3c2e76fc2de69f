package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestHealthWithoutServer(t *testing.T) {
	_, _, err := runApp(t, "health", "--data-dir", t.TempDir(), "--timeout", "2s")
	var ec cli.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 1 {
		t.Fatalf("health without a server: err = %v, want exit code 1", err)
	}
	if !strings.Contains(err.Error(), "CA") {
		t.Errorf("health without a CA says %q, want it to name the missing CA", err)
	}
}
