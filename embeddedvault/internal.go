package embeddedvault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/kmsbox/kmsbox/embeddedvault/kv"
)

// The internal KV API serves the in-process KES key store. It acts with
// root privileges on KV v1 mounts and stores entries exactly as an HTTP
// write to the same path would, so kescore and a real KES see the same
// data. Paths are logical: "kes/minio-key-1" is key "minio-key-1" in the
// mount "kes/".

// EnsureKVMount enables a KV v1 secrets engine at path unless one is
// already there. Another engine at path gives ErrNotKVMount.
func (s *Server) EnsureKVMount(ctx context.Context, path string) error {
	e := &mountEntry{Type: "kv", Description: "key store", Options: map[string]string{"version": "1"}}
	return s.ensureMount(ctx, path, e, func(o *mountEntry) error {
		if o.kvVersion() != "1" {
			return fmt.Errorf("%w: %s is a %s mount", ErrNotKVMount, o.Path, o.Type)
		}
		return nil
	})
}

// EnsureMount enables a secrets engine of type typ ("transit", "kv") at
// path with options unless an engine of that type is already there; its
// options are then left as they are. An engine of another type at path, or
// one overlapping it, gives ErrMountConflict. A type the server does not
// serve gives ErrBadRequest, as sys/mounts does.
func (s *Server) EnsureMount(ctx context.Context, path, typ string, options map[string]string) error {
	e := &mountEntry{Type: typ, Options: options}
	return s.ensureMount(ctx, path, e, func(o *mountEntry) error {
		if o.Type != typ {
			return withMessage(ErrMountConflict, "path is already in use at %s (a %s mount)", o.Path, o.Type)
		}
		return nil
	})
}

// ensureMount adds e at path to the secrets table unless a mount is there;
// same judges an existing mount (nil: it will do). A concurrent enable of
// the same path is judged the same way.
func (s *Server) ensureMount(ctx context.Context, path string, e *mountEntry, same func(*mountEntry) error) error {
	st, err := s.active()
	if err != nil {
		return err
	}
	p, err := normalizeMountPath(path)
	if err != nil {
		return err
	}
	if o := st.mounts.find(tableSecret, p); o != nil {
		return same(o)
	}
	e.Table, e.Path = tableSecret, p
	err = st.mounts.add(ctx, e)
	if errors.Is(err, ErrMountConflict) {
		if o := st.mounts.find(tableSecret, p); o != nil {
			return same(o)
		}
	}
	return err
}

// kvEntry resolves path to its KV v1 mount and the key inside it.
func (s *Server) kvEntry(path string) (*mountEntry, string, error) {
	st, err := s.active()
	if err != nil {
		return nil, "", err
	}
	path = strings.TrimPrefix(path, "/")
	e, rest := st.mounts.resolve(path)
	if err := st.mounts.unavailable(e); err != nil {
		return nil, "", err
	}
	if e == nil || e.Table != tableSecret || e.kvVersion() != "1" {
		return nil, "", fmt.Errorf("%w: %q", ErrNotKVMount, path)
	}
	return e, rest, nil
}

func kvKey(rest string) error {
	if rest == "" || strings.HasSuffix(rest, "/") {
		return fmt.Errorf("%w: invalid key %q", ErrBadRequest, rest)
	}
	return nil
}

// KVCreate stores data at path if nothing is there yet; the check and the
// write are one bbolt transaction. An existing entry gives ErrExists.
func (s *Server) KVCreate(ctx context.Context, path string, data map[string]any) error {
	e, rest, err := s.kvEntry(path)
	if err != nil {
		return err
	}
	if err := kvKey(rest); err != nil {
		return err
	}
	if len(data) == 0 {
		return fmt.Errorf("%w: missing data fields", ErrBadRequest)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	created, err := s.barrier.putIfAbsent(ctx, &logical.StorageEntry{Key: e.storagePrefix() + rest, Value: raw})
	if err != nil {
		return err
	}
	if !created {
		return ErrExists
	}
	return nil
}

// KVRead returns the object at path or ErrNotFound. Numbers come back as
// json.Number.
func (s *Server) KVRead(ctx context.Context, path string) (map[string]any, error) {
	e, rest, err := s.kvEntry(path)
	if err != nil {
		return nil, err
	}
	if err := kvKey(rest); err != nil {
		return nil, err
	}
	ent, err := e.view.Get(ctx, rest)
	if err != nil {
		return nil, err
	}
	if ent == nil {
		return nil, ErrNotFound
	}
	return kv.Decode(ent.Value)
}

// KVDelete removes the entry at path; a missing entry is not an error.
func (s *Server) KVDelete(ctx context.Context, path string) error {
	e, rest, err := s.kvEntry(path)
	if err != nil {
		return err
	}
	if err := kvKey(rest); err != nil {
		return err
	}
	return e.view.Delete(ctx, rest)
}

// KVList lists the entries below prefix, sorted. A prefix ending in "/"
// (or naming a mount, like "kes") lists that folder; otherwise the last
// segment filters the names of its folder ("kes/minio-" lists
// "minio-key-1", ...). Sub-folders end in "/". An empty result is an empty
// slice, not ErrNotFound.
func (s *Server) KVList(ctx context.Context, prefix string) ([]string, error) {
	st, err := s.active()
	if err != nil {
		return nil, err
	}
	prefix = strings.TrimPrefix(prefix, "/")
	if e := st.mounts.find(tableSecret, strings.TrimSuffix(prefix, "/")+"/"); e != nil && !strings.Contains(strings.TrimSuffix(prefix, "/"), "/") {
		prefix = e.Path
	}
	dir, name := prefix, ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 && i < len(prefix)-1 {
		dir, name = prefix[:i+1], prefix[i+1:]
	}
	e, rest, err := s.kvEntry(dir)
	if err != nil {
		return nil, err
	}
	keys, err := e.view.List(ctx, rest)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if strings.HasPrefix(k, name) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}
