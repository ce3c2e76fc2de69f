package embeddedvault

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// kvV1 is the unversioned KV secrets engine: the request body is stored
// verbatim as JSON at the request path.
type kvV1 struct {
	*framework.Backend
}

func newKVv1(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &kvV1{}
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

func (b *kvV1) exists(ctx context.Context, req *logical.Request, _ *framework.FieldData) (bool, error) {
	e, err := req.Storage.Get(ctx, req.Path)
	return e != nil, err
}

// decodeKV parses a stored object keeping numbers exact.
func decodeKV(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	return m, dec.Decode(&m)
}

func (b *kvV1) read(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	e, err := req.Storage.Get(ctx, req.Path)
	if err != nil || e == nil {
		return nil, err
	}
	data, err := decodeKV(e.Value)
	if err != nil {
		return nil, err
	}
	// A "ttl" (or legacy "lease") field sets the advertised lease duration.
	resp := &logical.Response{Data: data, Secret: &logical.Secret{}}
	for _, k := range []string{"ttl", "lease"} {
		if v, ok := data[k]; ok {
			if d, err := toDuration(v); err == nil {
				resp.Secret.TTL = d
				break
			}
		}
	}
	return resp, nil
}

func (b *kvV1) write(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
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

func (b *kvV1) delete(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	return nil, req.Storage.Delete(ctx, req.Path)
}

func (b *kvV1) list(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
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
