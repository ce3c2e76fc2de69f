package embeddedvault

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/sdk/logical"
)

// The internal Transit API serves the appliance: --dev creates its key, the
// console lists the keys. Both go through the mounted Transit backend with
// root privileges, exactly as an HTTP call with the root token would, and
// never return key material.

// TransitMount is one Transit secrets engine and its keys.
type TransitMount struct {
	// Path is the mount path with its trailing "/", e.g. "transit/".
	Path string
	// Keys are the engine's keys in name order.
	Keys []TransitKey
}

// TransitKey describes one Transit key by what `vault read transit/keys/<name>`
// shows about it; never its material.
type TransitKey struct {
	Name string
	// Type is the key type, e.g. "aes256-gcm96".
	Type string
	// LatestVersion is the version new ciphertexts are made with;
	// MinDecryptionVersion the oldest version that still decrypts.
	LatestVersion, MinDecryptionVersion int
}

// EnsureTransitKey creates the key name of type keyType ("" = the engine's
// default, aes256-gcm96) in the Transit mount at mount unless it exists;
// an existing key is left as it is, whatever its type. created reports
// whether this call made it. A mount that is not Transit gives
// ErrMountConflict.
func (s *Server) EnsureTransitKey(ctx context.Context, mount, name, keyType string) (created bool, err error) {
	e, err := s.transitMount(mount)
	if err != nil {
		return false, err
	}
	if name == "" || strings.Contains(name, "/") {
		return false, badRequest("invalid transit key name %q", name)
	}
	resp, err := s.rootRequest(ctx, e, logical.ReadOperation, "keys/"+name, nil)
	if err != nil || resp != nil {
		return false, err
	}
	data := map[string]any{}
	if keyType != "" {
		data["type"] = keyType
	}
	if _, err := s.rootRequest(ctx, e, logical.UpdateOperation, "keys/"+name, data); err != nil {
		return false, err
	}
	return true, nil
}

// TransitKeys lists every Transit mount, in path order, with its keys.
func (s *Server) TransitKeys(ctx context.Context) ([]TransitMount, error) {
	st, err := s.active()
	if err != nil {
		return nil, err
	}
	var out []TransitMount
	for _, e := range st.mounts.list(tableSecret) {
		if e.Type != "transit" || e.backend == nil {
			continue
		}
		m := TransitMount{Path: e.Path}
		resp, err := s.rootRequest(ctx, e, logical.ListOperation, "keys/", nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
		var names []string
		if resp != nil {
			names, _ = resp.Data["keys"].([]string)
		}
		sort.Strings(names)
		for _, n := range names {
			resp, err := s.rootRequest(ctx, e, logical.ReadOperation, "keys/"+n, nil)
			if err != nil {
				return nil, fmt.Errorf("%s%s: %w", e.Path, n, err)
			}
			if resp == nil {
				continue // deleted since the listing
			}
			typ, _ := resp.Data["type"].(string)
			m.Keys = append(m.Keys, TransitKey{Name: n, Type: typ,
				LatestVersion:        intValue(resp.Data["latest_version"]),
				MinDecryptionVersion: intValue(resp.Data["min_decryption_version"])})
		}
		out = append(out, m)
	}
	return out, nil
}

// transitMount returns the Transit engine mounted at mount ("transit" or
// "transit/").
func (s *Server) transitMount(mount string) (*mountEntry, error) {
	st, err := s.active()
	if err != nil {
		return nil, err
	}
	p, err := normalizeMountPath(mount)
	if err != nil {
		return nil, err
	}
	e := st.mounts.find(tableSecret, p)
	if e == nil || e.Type != "transit" || e.backend == nil {
		return nil, withMessage(ErrMountConflict, "no transit mount at %s", p)
	}
	return e, nil
}

// rootRequest runs op on path (relative to mount e) through e's backend
// with root privileges: no token, no ACL. It is for in-process callers
// only. A backend error response is ErrBadRequest with its message; a nil
// response (nothing at path) is returned as it is.
func (s *Server) rootRequest(ctx context.Context, e *mountEntry, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	lreq, err := newLogicalRequest(ctx, e, op, path, data)
	if err != nil {
		return nil, err
	}
	resp, err := e.backend.HandleRequest(ctx, lreq)
	if resp != nil && resp.IsError() {
		return nil, badRequest("%s", resp.Error().Error())
	}
	if err != nil {
		return nil, backendError(err)
	}
	return resp, nil
}

// intValue reads a backend's integer field, whatever Go type carries it.
func intValue(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return 0
}
