// Package kv holds the KV secrets engines of embeddedvault as vault/sdk
// framework backends: version 1 (NewV1), which stores each request body
// verbatim as JSON at its path, and version 2 (NewV2), with versions,
// metadata, soft delete, destroy and check-and-set. Their storage layout
// (plain JSON under the request path, metadata/ and versions/) is the one
// kmsbox has always written, so existing vault.db files keep working. The backends know
// nothing of HTTP; embeddedvault routes requests to them and renders
// their answers, and the tests drive them over logical.InmemStorage.
package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/kmsbox/kmsbox/embeddedvault/internal/coerce"
)

// v1Backend is the unversioned KV secrets engine: the request body is stored
// verbatim as JSON at the request path.
type v1Backend struct {
	*framework.Backend
}

// NewV1 builds a KV version 1 backend over conf.StorageView: a read
// returns the stored object (a "ttl" or "lease" field sets the lease
// duration), a write replaces it, list lists keys under a prefix.
func NewV1(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &v1Backend{}
	b.Backend = &framework.Backend{
		Help:        "Key/value store for arbitrary JSON objects (unversioned).",
		BackendType: logical.TypeLogical,
		Paths: []*framework.Path{{
			Pattern:             framework.MatchAllRegex("path"),
			TakesArbitraryInput: true,
			Fields: map[string]*framework.FieldSchema{
				"path": {Type: framework.TypeString, Description: "Location of the secret."},
			},
			ExistenceCheck: b.exists,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   &framework.PathOperation{Callback: b.read},
				logical.CreateOperation: &framework.PathOperation{Callback: b.write},
				logical.UpdateOperation: &framework.PathOperation{Callback: b.write},
				logical.DeleteOperation: &framework.PathOperation{Callback: b.delete},
				logical.ListOperation:   &framework.PathOperation{Callback: b.list},
			},
			HelpSynopsis: "Pass-through secret storage.",
		}},
	}
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *v1Backend) exists(ctx context.Context, req *logical.Request, _ *framework.FieldData) (bool, error) {
	e, err := req.Storage.Get(ctx, req.Path)
	return e != nil, err
}

// Decode parses a stored KV object (a v1 entry or a v2 version), keeping
// numbers exact as json.Number.
func Decode(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	return m, dec.Decode(&m)
}

func (b *v1Backend) read(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	e, err := req.Storage.Get(ctx, req.Path)
	if err != nil || e == nil {
		return nil, err
	}
	data, err := Decode(e.Value)
	if err != nil {
		return nil, err
	}
	// A "ttl" (or legacy "lease") field sets the advertised lease duration.
	resp := &logical.Response{Data: data, Secret: &logical.Secret{}}
	for _, k := range []string{"ttl", "lease"} {
		if v, ok := data[k]; ok {
			if d, err := coerce.Duration(v); err == nil {
				resp.Secret.TTL = d
				break
			}
		}
	}
	return resp, nil
}

func (b *v1Backend) write(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	if req.Path == "" || strings.HasSuffix(req.Path, "/") {
		return logical.ErrorResponse("invalid secret path %q", req.Path), nil
	}
	if len(req.Data) == 0 {
		return logical.ErrorResponse("missing data fields"), nil
	}
	raw, err := json.Marshal(req.Data)
	if err != nil {
		return nil, err
	}
	return nil, req.Storage.Put(ctx, &logical.StorageEntry{Key: req.Path, Value: raw})
}

func (b *v1Backend) delete(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	return nil, req.Storage.Delete(ctx, req.Path)
}

func (b *v1Backend) list(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	prefix := req.Path
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	keys, err := req.Storage.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(keys), nil
}
