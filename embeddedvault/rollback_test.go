package embeddedvault

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// periodicProbe is a framework backend, mounted only by the test, whose
// PeriodicFunc reports each call on entered and, once block is set,
// reports on blocked instead and stays inside until its request's context
// ends.
type periodicProbe struct {
	entered, blocked chan struct{}
	block            atomic.Bool
	inside           atomic.Int32
}

func (p *periodicProbe) factory(ctx context.Context, e *mountEntry, cfg Config) (logical.Backend, error) {
	if e.Path != "probe/" {
		return newBackend(ctx, e, cfg)
	}
	b := &framework.Backend{BackendType: logical.TypeLogical, PeriodicFunc: func(ctx context.Context, req *logical.Request) error {
		p.inside.Add(1)
		defer p.inside.Add(-1)
		if req.Operation != logical.RollbackOperation || req.Storage == nil || req.MountPoint != "probe/" {
			return fmt.Errorf("unexpected rollback request: %s %q, storage %v", req.Operation, req.MountPoint, req.Storage != nil)
		}
		if p.block.Load() {
			p.blocked <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}
		select {
		case p.entered <- struct{}{}:
		default:
		}
		return nil
	}}
	return b, b.Setup(ctx, &logical.BackendConfig{StorageView: e.view, System: logical.StaticSystemView{}})
}

// wait fails the test unless the probe's PeriodicFunc reports on ch
// within 10s.
func (p *periodicProbe) wait(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no periodic rollback %s", what)
	}
}

// stopped fails the test unless rb's goroutine has ended and no
// PeriodicFunc call is running once what returned.
func (p *periodicProbe) stopped(t *testing.T, rb *rollback, what string) {
	t.Helper()
	select {
	case <-rb.done:
	default:
		t.Fatalf("rollback goroutine still running after %s returned", what)
	}
	if n := p.inside.Load(); n != 0 {
		t.Fatalf("%d PeriodicFunc calls still running after %s returned", n, what)
	}
}

// warnLog records the rollback messages logged at warn or above.
type warnLog struct {
	mu   sync.Mutex
	msgs []string
}

func (h *warnLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *warnLog) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *warnLog) WithGroup(string) slog.Handler                { return h }
func (h *warnLog) Handle(_ context.Context, r slog.Record) error {
	if !strings.Contains(r.Message, "rollback") {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s", a); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, b.String())
	return nil
}

func (h *warnLog) check(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.msgs) > 0 {
		t.Fatalf("rollback warnings: %q", h.msgs)
	}
}

// TestRollbackTicker: while unsealed every mount gets a rollback request
// each RollbackInterval (the real KV v2 and AppRole engines answer it
// without error); seal and Close cancel a PeriodicFunc that is running
// and return only after the rollback goroutine ended.
func TestRollbackTicker(t *testing.T) {
	logs := &warnLog{}
	cfg := testConfig(t)
	cfg.Logger = slog.New(logs)
	cfg.RollbackInterval = 5 * time.Millisecond
	tv := startVault(t, cfg)
	probe := &periodicProbe{entered: make(chan struct{}, 1), blocked: make(chan struct{}, 1)}
	tv.srv.build = probe.factory
	res := tv.initUnseal(1, 1)
	c := tv.client(res.RootToken)
	// The probe is mounted last, so a round that reaches it has visited
	// the other two.
	if err := c.Sys().Mount("kv2", &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().Mount("probe", &api.MountInput{Type: "kv"}); err != nil {
		t.Fatal(err)
	}
	probe.wait(t, probe.entered, "after unseal")
	probe.wait(t, probe.entered, "in the next round")
	logs.check(t)

	// Seal while the PeriodicFunc is running.
	probe.block.Store(true)
	probe.wait(t, probe.blocked, "before seal")
	rb := tv.srv.state.Load().rollback
	if err := c.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	probe.stopped(t, rb, "seal")

	// Unseal again: the ticker restarts; Close stops it the same way.
	if _, err := c.Sys().Unseal(res.KeysB64[0]); err != nil {
		t.Fatal(err)
	}
	probe.wait(t, probe.blocked, "after the second unseal")
	rb = tv.srv.state.Load().rollback
	closed := make(chan error, 1)
	go func() { closed <- tv.srv.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while a PeriodicFunc was running")
	}
	probe.stopped(t, rb, "Close")
	logs.check(t)
}
