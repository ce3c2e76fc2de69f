package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/kmsbox/kmsbox/internal/testutil"
)

func TestPprofServesOnLoopbackOnly(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "example.com:6060", "no-port"} {
		if err := startPprof(ctx, bad, log); err == nil || !strings.Contains(err.Error(), pprofEnv) {
			t.Errorf("startPprof(%q) = %v, want a refusal naming %s", bad, err, pprofEnv)
		}
	}
	if err := startPprof(ctx, "", log); err != nil {
		t.Errorf("startPprof(\"\") = %v, want nothing served and no error", err)
	}

	addr := testutil.FreeAddr(t)
	var logs testutil.SyncBuffer
	if err := startPprof(ctx, addr, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/cmdline: %s, want 200", resp.Status)
	}
	if !strings.Contains(logs.String(), pprofEnv) {
		t.Errorf("no warning naming %s in the log: %q", pprofEnv, logs.String())
	}
}
