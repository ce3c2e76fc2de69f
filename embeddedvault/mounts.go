package embeddedvault

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/kmsbox/kmsbox/embeddedvault/approle"
	"github.com/kmsbox/kmsbox/embeddedvault/kv"
	"github.com/kmsbox/kmsbox/embeddedvault/transit"
)

const mountTableKey = "core/mounts"

// Mount tables.
const (
	tableSecret = "secret"
	tableAuth   = "auth"
)

// mountEntry is one secrets engine or auth method.
type mountEntry struct {
	Table                 string            `json:"table"`
	Path                  string            `json:"path"` // with trailing "/"
	Type                  string            `json:"type"`
	Description           string            `json:"description"`
	Accessor              string            `json:"accessor"`
	UUID                  string            `json:"uuid"`
	Local                 bool              `json:"local"`
	SealWrap              bool              `json:"seal_wrap"`
	ExternalEntropyAccess bool              `json:"external_entropy_access"`
	Options               map[string]string `json:"options"`
	DefaultLeaseTTL       time.Duration     `json:"default_lease_ttl"` // 0 = system default
	MaxLeaseTTL           time.Duration     `json:"max_lease_ttl"`     // 0 = system max
	// Builtin mounts (sys/, cubbyhole/, identity/, token/) are listed like
	// Vault lists them; sys/ and token/ are served by the Server itself.
	Builtin bool `json:"builtin"`

	backend logical.Backend
	view    logical.Storage
	// unmounted is set by remove before the data is deleted; guarded by
	// mountTable.rollbackMu.
	unmounted bool
	// startErr (ErrDamaged) is why the backend could not start; the mount answers it.
	startErr error
}

// routePrefix is the logical path prefix the mount serves.
func (e *mountEntry) routePrefix() string {
	if e.Table == tableAuth {
		return "auth/" + e.Path
	}
	return e.Path
}

// storagePrefix is where the mount's data lives behind the barrier.
func (e *mountEntry) storagePrefix() string {
	if e.Table == tableAuth {
		return "auth/" + e.UUID + "/"
	}
	return "logical/" + e.UUID + "/"
}

// kvVersion returns "1" or "2" for KV mounts and "" otherwise.
func (e *mountEntry) kvVersion() string {
	if e.Type != "kv" {
		return ""
	}
	if e.Options["version"] == "2" {
		return "2"
	}
	return "1"
}

func (e *mountEntry) leaseTTL(cfg Config) time.Duration {
	if e.DefaultLeaseTTL > 0 {
		return e.DefaultLeaseTTL
	}
	return cfg.DefaultLeaseTTL
}

func (e *mountEntry) info() map[string]any {
	var opts any
	if e.Options != nil {
		opts = e.Options
	}
	return map[string]any{
		"type": e.Type, "description": e.Description, "accessor": e.Accessor, "uuid": e.UUID,
		"local": e.Local, "seal_wrap": e.SealWrap, "external_entropy_access": e.ExternalEntropyAccess,
		"options": opts,
		"config": map[string]any{
			"default_lease_ttl": int64(e.DefaultLeaseTTL / time.Second),
			"max_lease_ttl":     int64(e.MaxLeaseTTL / time.Second),
			"force_no_cache":    false,
		},
		"plugin_version": "", "running_plugin_version": "", "running_sha256": "",
	}
}

// backendFactory builds the backend of a mount; newBackend in the server,
// test backends in tests.
type backendFactory func(ctx context.Context, e *mountEntry, cfg Config) (logical.Backend, error)

// mountTable holds the mounts of both tables and their live backends.
type mountTable struct {
	barrier *barrier
	cfg     Config
	build   backendFactory

	mu      sync.RWMutex
	entries []*mountEntry
	// bad holds the stored entries that did not decode: they serve nothing but are written
	// back unchanged with the table, never silently dropped.
	bad []json.RawMessage
	// damaged (ErrDamaged) is set when the stored table itself did not read back: only the
	// builtin mounts serve, every other path answers damaged, and the table is never
	// rewritten (that would drop the mounts it holds).
	damaged error

	// rollbackMu is held while a periodic rollback runs on a backend, so
	// that remove can wait for it (rollback.go).
	rollbackMu sync.Mutex
}

func loadMountTable(ctx context.Context, b *barrier, cfg Config, build backendFactory) (*mountTable, error) {
	t := &mountTable{barrier: b, cfg: cfg, build: build}
	var raw []json.RawMessage
	e, err := b.Get(ctx, mountTableKey)
	if err == nil && e != nil {
		err = json.Unmarshal(e.Value, &raw)
	}
	switch {
	case err != nil && !errors.Is(err, ErrCorrupt) && !isJSONError(err):
		return nil, err
	case err != nil:
		t.damaged = withMessage(ErrDamaged, "the mount table (%s) is damaged, only the builtin mounts serve: %v", mountTableKey, err)
		cfg.Logger.Error("embeddedvault: mount table damaged", "key", mountTableKey, "err", err)
		t.entries = builtinMounts()
		return t, nil
	case e == nil:
		t.entries = builtinMounts()
		if err := b.putJSON(ctx, mountTableKey, t.entries); err != nil {
			return nil, err
		}
	}
	for i, r := range raw {
		var me mountEntry
		if err := json.Unmarshal(r, &me); err != nil || me.Path == "" || (me.Table != tableSecret && me.Table != tableAuth) {
			cfg.Logger.Error("embeddedvault: mount table entry damaged, skipped", "index", i, "err", err)
			t.bad = append(t.bad, r)
			continue
		}
		t.entries = append(t.entries, &me)
	}
	for _, e := range t.entries {
		if e.Builtin {
			continue
		}
		if err := t.start(ctx, e); err != nil {
			// One engine that cannot start over its data fails that mount, not the vault.
			e.startErr = withMessage(ErrDamaged, "mount %s cannot start: %v", e.routePrefix(), err)
			cfg.Logger.Error("embeddedvault: mount cannot start", "mount", e.routePrefix(), "err", err)
		}
	}
	return t, nil
}

// builtinMounts are the mounts every vault has from its first unseal.
func builtinMounts() []*mountEntry {
	var out []*mountEntry
	for _, d := range []struct{ table, path, typ, desc string }{
		{tableSecret, "cubbyhole/", "cubbyhole", "per-token private secret storage"},
		{tableSecret, "identity/", "identity", "identity store"},
		{tableSecret, "sys/", "system", "system endpoints used for control, policy and debugging"},
		{tableAuth, "token/", "token", "token based credentials"},
	} {
		out = append(out, &mountEntry{Table: d.table, Path: d.path, Type: d.typ,
			Description: d.desc, Accessor: newAccessor(d.typ), UUID: uuid.NewString(), Builtin: true})
	}
	return out
}

// isJSONError reports whether err is a JSON decoding error (a value that decrypted but does
// not decode: damaged before it was sealed, or by a bug).
func isJSONError(err error) bool {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF)
}

// unavailable is the error for path when no working mount serves it: the mount's own start
// error, the damaged table's, or nil (the caller's "no such mount").
func (t *mountTable) unavailable(e *mountEntry) error {
	if e != nil && e.startErr != nil {
		return e.startErr
	}
	if (e == nil || e.Builtin) && t.damaged != nil {
		return t.damaged
	}
	return nil
}

// save stores next (plus the entries that did not decode) as the mount table; t.mu is held.
func (t *mountTable) save(ctx context.Context, next []*mountEntry) error {
	if t.damaged != nil {
		return t.damaged
	}
	rec := make([]any, 0, len(next)+len(t.bad))
	for _, e := range next {
		rec = append(rec, e)
	}
	for _, r := range t.bad {
		rec = append(rec, r)
	}
	return t.barrier.putJSON(ctx, mountTableKey, rec)
}

func newAccessor(typ string) string {
	return typ + "_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:8]
}

// start creates the backend of e over its storage view.
func (t *mountTable) start(ctx context.Context, e *mountEntry) error {
	e.view = logical.NewStorageView(t.barrier, e.storagePrefix())
	b, err := t.build(ctx, e, t.cfg)
	if err != nil {
		return err
	}
	e.backend = b
	return nil
}

// resolve finds the mount serving path by longest prefix.
func (t *mountTable) resolve(path string) (*mountEntry, string) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var best *mountEntry
	for _, e := range t.entries {
		p := e.routePrefix()
		if strings.HasPrefix(path, p) && (best == nil || len(p) > len(best.routePrefix())) {
			best = e
		}
	}
	if best == nil {
		return nil, ""
	}
	return best, strings.TrimPrefix(path, best.routePrefix())
}

// find returns the mount at exactly path in table.
func (t *mountTable) find(table, path string) *mountEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.entries {
		if e.Table == table && e.Path == path {
			return e
		}
	}
	return nil
}

func (t *mountTable) list(table string) []*mountEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []*mountEntry
	for _, e := range t.entries {
		if e.Table == table {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// add mounts e; a path that overlaps an existing mount of the same table
// is a conflict.
func (t *mountTable) add(ctx context.Context, e *mountEntry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, o := range t.entries {
		if o.Table == e.Table && (strings.HasPrefix(e.Path, o.Path) || strings.HasPrefix(o.Path, e.Path)) {
			prefix := o.Path
			if e.Table == tableAuth {
				prefix = "auth/" + prefix
			}
			return withMessage(ErrMountConflict, "path is already in use at %s", prefix)
		}
	}
	if t.damaged != nil {
		return t.damaged
	}
	e.UUID, e.Accessor = uuid.NewString(), newAccessor(e.Type)
	if err := t.start(ctx, e); err != nil {
		return err
	}
	next := append(append([]*mountEntry(nil), t.entries...), e)
	if err := t.save(ctx, next); err != nil {
		return err
	}
	t.entries = next
	return nil
}

// remove unmounts the entry at path and deletes its data. Missing is fine.
func (t *mountTable) remove(ctx context.Context, table, path string) (*mountEntry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var next []*mountEntry
	var gone *mountEntry
	for _, e := range t.entries {
		if e.Table == table && e.Path == path {
			gone = e
			continue
		}
		next = append(next, e)
	}
	if gone == nil {
		return nil, nil
	}
	if gone.Builtin {
		return nil, badRequest("cannot unmount %q", gone.routePrefix())
	}
	if err := t.save(ctx, next); err != nil {
		return nil, err
	}
	t.entries = next
	t.rollbackMu.Lock()
	gone.unmounted = true
	t.rollbackMu.Unlock()
	if gone.backend != nil {
		gone.backend.Cleanup(ctx)
	}
	return gone, t.barrier.deletePrefix(ctx, gone.storagePrefix())
}

// newBackend builds the sdk backend for a mount type.
func newBackend(ctx context.Context, e *mountEntry, cfg Config) (logical.Backend, error) {
	conf := &logical.BackendConfig{
		StorageView: e.view,
		System: logical.StaticSystemView{
			DefaultLeaseTTLVal: e.leaseTTL(cfg),
			MaxLeaseTTLVal:     cfg.MaxLeaseTTL,
		},
		BackendUUID: e.UUID,
	}
	switch {
	case e.Table == tableSecret && e.kvVersion() == "1":
		return kv.NewV1(ctx, conf)
	case e.Table == tableSecret && e.kvVersion() == "2":
		return kv.NewV2(ctx, conf)
	case e.Table == tableSecret && e.Type == "transit":
		return transit.New(ctx, conf)
	case e.Table == tableAuth && e.Type == "approle":
		return approle.New(ctx, conf)
	}
	return nil, badRequest("plugin not found in the catalog: %s", e.Type)
}
