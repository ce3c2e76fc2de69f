package embeddedvault

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/vault/sdk/logical"
)

// rollback is the unsealed store's counterpart of Vault's rollback
// manager: every Config.RollbackInterval it sends each mounted engine a
// logical.RollbackOperation request, which runs a framework backend's
// PeriodicFunc (and WAL rollbacks). Mounts are visited one after another;
// a tick that comes while a round is still running is dropped. The
// goroutine belongs to the coreState that started it: sealing (and
// Close, which seals) stops it and waits for it.
type rollback struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startRollback starts the rollback goroutine over mounts.
func startRollback(mounts *mountTable, every time.Duration, log *slog.Logger) *rollback {
	ctx, cancel := context.WithCancel(context.Background())
	r := &rollback{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				mounts.rollback(ctx, log)
			}
		}
	}()
	return r
}

// stop cancels the round in progress and waits until the goroutine ended.
func (r *rollback) stop() {
	r.cancel()
	<-r.done
}

// rollback sends one rollback request to every mount with a backend.
// Failures are logged and do not stop the round; the backends' errors
// carry no secrets, and requests are never logged.
func (t *mountTable) rollback(ctx context.Context, log *slog.Logger) {
	t.mu.RLock()
	entries := append([]*mountEntry(nil), t.entries...)
	t.mu.RUnlock()
	for _, e := range entries {
		if ctx.Err() != nil {
			return
		}
		if e.backend == nil {
			continue // builtin
		}
		if err := t.rollbackOne(ctx, e); err != nil {
			level := slog.LevelWarn
			if ctx.Err() != nil || errors.Is(err, logical.ErrUnsupportedOperation) {
				level = slog.LevelDebug
			}
			log.Log(ctx, level, "embeddedvault: periodic rollback failed", "mount", e.routePrefix(), "err", err)
		}
	}
}

// rollbackOne runs the rollback of e unless e was unmounted meanwhile:
// remove waits on rollbackMu, so no periodic write lands in a mount's
// storage after its data was deleted.
func (t *mountTable) rollbackOne(ctx context.Context, e *mountEntry) error {
	t.rollbackMu.Lock()
	defer t.rollbackMu.Unlock()
	if e.unmounted {
		return nil
	}
	_, err := e.backend.HandleRequest(ctx, &logical.Request{
		ID:            uuid.NewString(),
		Operation:     logical.RollbackOperation,
		Data:          map[string]any{},
		Storage:       e.view,
		MountPoint:    e.routePrefix(),
		MountType:     e.Type,
		MountAccessor: e.Accessor,
	})
	return err
}
