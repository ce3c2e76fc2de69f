package appliance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/kmsbox/kmsbox/appliance/seed"
	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/s3lite"
)

// generation is one set of the appliance's servers over one set of files: the vault, the key
// server on it, the object store on that, and the console over the three. The listeners
// outlive generations: each serves through [Appliance.front], which forwards every request
// to the current generation, so a reset swaps the servers without closing a port.
type generation struct {
	vault     *embeddedvault.Server
	kes       *kescore.Server
	s3        *s3lite.Server
	kcfg      kescore.Config
	scfg      s3lite.Config
	vaultTLS  *tls.Config
	vaultFile string                  // the vault's store file
	handlers  map[string]http.Handler // "vault", "kes", "s3", "console"
	closers   []func() error          // in opening order; close runs them in reverse

	inflight inflight
}

// close closes the generation's state in reverse order of opening; it stops every goroutine
// the servers run (KES's probe and log streams, the vault's rollback ticker).
func (g *generation) close() error {
	var errs []error
	for i := len(g.closers) - 1; i >= 0; i-- {
		errs = append(errs, g.closers[i]())
	}
	g.closers = nil
	return errors.Join(errs...)
}

// inflight counts the requests a generation is serving, so that a reset can wait for them.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to zero; nil unless someone waits
}

func (f *inflight) add() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

// wait returns nil once no request is in flight, or ctx's error when it ends first. Only one
// caller may wait at a time (the reset, under its lock), and only while no request is added.
func (f *inflight) wait(ctx context.Context) error {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return nil
	}
	idle := make(chan struct{})
	f.idle = idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// acquire returns the current generation, counted as serving one more request, or nil when
// there is none (a reset failed, or the appliance is closed). While a reset swaps
// generations, acquire waits for it.
func (a *Appliance) acquire() *generation {
	a.swapMu.RLock()
	defer a.swapMu.RUnlock()
	g := a.gen
	if g != nil {
		g.inflight.add()
	}
	return g
}

// front is the handler of the listener of server name ("vault", "kes", "s3", "console"): the
// CA at [CAPath] and, on the Vault port, the reset endpoint at [ResetPath]; everything else
// goes to the current generation.
func (a *Appliance) front(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case CAPath:
			a.serveCA(w, r)
			return
		case ResetPath:
			if name == "vault" {
				a.serveReset(w, r)
				return
			}
		}
		g := a.acquire()
		if g == nil {
			http.Error(w, "kmsbox: no server state (a reset failed, or the server is stopping)", http.StatusServiceUnavailable)
			return
		}
		defer g.inflight.done()
		g.handlers[name].ServeHTTP(w, r)
	})
}

// devRootToken is the root token ID a --dev vault is initialized with: --dev-root-token,
// else the one the first generation picked, so that a reset keeps every client's token.
func (a *Appliance) devRootToken() string {
	if a.cfg.DevRootToken != "" {
		return a.cfg.DevRootToken
	}
	return a.devRoot
}

// bootstrap brings a freshly opened generation to its start state before it serves a
// request: at start-up and again on every reset. With --dev the servers' configs have done
// the guide's steps 3 and 4 as far as configuration goes (the vault initialized and unsealed
// with the root token, KES's kv mount, the MinIO identity and its policy); bootstrap makes
// the data: the key the MinIO identity uses. Every step tolerates state a restart finds.
func (a *Appliance) bootstrap(ctx context.Context, g *generation) error {
	if !a.cfg.Dev {
		return nil
	}
	t := a.seedTargets(g)
	if err := t.KES.CreateKey(ctx, a.devKey); err != nil && !errors.Is(err, seed.ErrExists) {
		return fmt.Errorf("kes: dev key %s: %w", a.devKey, err)
	}
	return a.applySeed(ctx, t)
}
