package kv

import (
	"context"
	"strconv"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// metadataPaths: config, metadata/, delete/, undelete/, destroy/.
func (b *v2Backend) metadataPaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern: "config$",
			Fields: map[string]*framework.FieldSchema{
				"max_versions":         {Type: framework.TypeInt, Description: "Versions kept per key."},
				"cas_required":         {Type: framework.TypeBool, Description: "Require cas on every write."},
				"delete_version_after": {Type: framework.TypeDurationSecond, Description: "Accepted; not enforced."},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   &framework.PathOperation{Callback: b.readConfig},
				logical.UpdateOperation: &framework.PathOperation{Callback: b.writeConfig},
			},
			HelpSynopsis: "Engine configuration.",
		},
		{
			Pattern: "metadata/" + framework.MatchAllRegex("path"),
			Fields: map[string]*framework.FieldSchema{
				"path":                 {Type: framework.TypeString, Description: "Location of the secret."},
				"max_versions":         {Type: framework.TypeInt, Description: "Versions kept for this key."},
				"cas_required":         {Type: framework.TypeBool, Description: "Require cas on writes."},
				"delete_version_after": {Type: framework.TypeDurationSecond, Description: "Accepted; not enforced."},
				"custom_metadata":      {Type: framework.TypeKVPairs, Description: "User metadata."},
			},
			ExistenceCheck: b.exists,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   &framework.PathOperation{Callback: b.readMetadata},
				logical.CreateOperation: &framework.PathOperation{Callback: b.writeMetadata},
				logical.UpdateOperation: &framework.PathOperation{Callback: b.writeMetadata},
				logical.DeleteOperation: &framework.PathOperation{Callback: b.deleteMetadata},
				logical.ListOperation:   &framework.PathOperation{Callback: b.listMetadata},
			},
			HelpSynopsis: "Key metadata; delete removes every version.",
		},
		b.versionsPath("delete/", b.softDelete),
		b.versionsPath("undelete/", b.undelete),
		b.versionsPath("destroy/", b.destroy),
	}
}

// versionChange changes one existing version v of the key at path; b.mu
// is held.
type versionChange func(ctx context.Context, s logical.Storage, path string, v uint64, vm *kv2Version) error

// versionsPath builds delete/, undelete/ and destroy/: each takes
// "versions" and changes them with fn.
func (b *v2Backend) versionsPath(prefix string, fn versionChange) *framework.Path {
	return &framework.Path{
		Pattern: prefix + framework.MatchAllRegex("path"),
		Fields: map[string]*framework.FieldSchema{
			"path":     {Type: framework.TypeString, Description: "Location of the secret."},
			"versions": {Type: framework.TypeCommaIntSlice, Description: "Versions to act on."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.changeVersions(fn)},
		},
		HelpSynopsis: "Change the state of versions of a secret.",
	}
}

// changeVersions returns the handler that applies fn under the lock to
// each listed version the key has and saves the key's metadata. Versions
// and keys that do not exist are skipped.
func (b *v2Backend) changeVersions(fn versionChange) framework.OperationFunc {
	return func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
		path := d.Get("path").(string)
		versions := d.Get("versions").([]int)
		if len(versions) == 0 {
			return logical.ErrorResponse("no version number provided"), nil
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		m, err := b.meta(ctx, req.Storage, path)
		if err != nil || m == nil {
			return nil, err
		}
		for _, v := range versions {
			vm := m.Versions[uint64(v)]
			if v <= 0 || vm == nil {
				continue
			}
			if err := fn(ctx, req.Storage, path, uint64(v), vm); err != nil {
				return nil, err
			}
		}
		m.UpdatedTime = time.Now().UTC()
		return nil, b.putMeta(ctx, req.Storage, path, m)
	}
}

func (b *v2Backend) softDelete(_ context.Context, _ logical.Storage, _ string, _ uint64, vm *kv2Version) error {
	if vm.DeletionTime.IsZero() {
		vm.DeletionTime = time.Now().UTC()
	}
	return nil
}

func (b *v2Backend) undelete(_ context.Context, _ logical.Storage, _ string, _ uint64, vm *kv2Version) error {
	if !vm.Destroyed {
		vm.DeletionTime = time.Time{}
	}
	return nil
}

func (b *v2Backend) destroy(ctx context.Context, s logical.Storage, path string, v uint64, vm *kv2Version) error {
	vm.Destroyed = true
	return s.Delete(ctx, versionKey(path, v))
}

func (b *v2Backend) readConfig(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	c, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"max_versions": c.MaxVersions, "cas_required": c.CasRequired,
		"delete_version_after": c.DeleteVersionAfter.String(),
	}}, nil
}

func (b *v2Backend) writeConfig(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if v, ok := d.GetOk("max_versions"); ok {
		if c.MaxVersions = v.(int); c.MaxVersions < 0 {
			return logical.ErrorResponse("max_versions cannot be negative"), nil
		}
	}
	if v, ok := d.GetOk("cas_required"); ok {
		c.CasRequired = v.(bool)
	}
	if v, ok := d.GetOk("delete_version_after"); ok {
		c.DeleteVersionAfter = time.Duration(v.(int)) * time.Second
	}
	e, err := logical.StorageEntryJSON(kv2ConfigKey, c)
	if err != nil {
		return nil, err
	}
	return nil, req.Storage.Put(ctx, e)
}

func (b *v2Backend) readMetadata(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	m, err := b.meta(ctx, req.Storage, d.Get("path").(string))
	if err != nil || m == nil {
		return nil, err
	}
	versions := map[string]any{}
	for v, vm := range m.Versions {
		versions[strconv.FormatUint(v, 10)] = map[string]any{
			"created_time": kv2Time(vm.CreatedTime), "deletion_time": kv2Time(vm.DeletionTime), "destroyed": vm.Destroyed,
		}
	}
	var cm any
	if m.CustomMetadata != nil {
		cm = m.CustomMetadata
	}
	return &logical.Response{Data: map[string]any{
		"versions": versions, "current_version": m.CurrentVersion, "oldest_version": m.OldestVersion,
		"max_versions": m.MaxVersions, "cas_required": m.CasRequired,
		"delete_version_after": m.DeleteVersionAfter.String(), "created_time": kv2Time(m.CreatedTime),
		"updated_time": kv2Time(m.UpdatedTime), "custom_metadata": cm,
	}}, nil
}

func (b *v2Backend) writeMetadata(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.Get("path").(string)
	if path == "" {
		return logical.ErrorResponse("missing path"), nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	m, err := b.meta(ctx, req.Storage, path)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	if m == nil {
		m = &kv2Meta{Versions: map[uint64]*kv2Version{}, CreatedTime: now}
	}
	if v, ok := d.GetOk("max_versions"); ok {
		if m.MaxVersions = v.(int); m.MaxVersions < 0 {
			return logical.ErrorResponse("max_versions cannot be negative"), nil
		}
	}
	if v, ok := d.GetOk("cas_required"); ok {
		m.CasRequired = v.(bool)
	}
	if v, ok := d.GetOk("delete_version_after"); ok {
		m.DeleteVersionAfter = time.Duration(v.(int)) * time.Second
	}
	if v, ok := d.GetOk("custom_metadata"); ok {
		m.CustomMetadata = v.(map[string]string)
	}
	m.UpdatedTime = now
	cfg, err := b.config(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if err := b.trim(ctx, req.Storage, path, m, cfg); err != nil {
		return nil, err
	}
	return nil, b.putMeta(ctx, req.Storage, path, m)
}

// deleteMetadata removes the key with all its versions; absent is fine.
func (b *v2Backend) deleteMetadata(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.Get("path").(string)
	b.mu.Lock()
	defer b.mu.Unlock()
	m, err := b.meta(ctx, req.Storage, path)
	if err != nil || m == nil {
		return nil, err
	}
	for v := range m.Versions {
		if err := req.Storage.Delete(ctx, versionKey(path, v)); err != nil {
			return nil, err
		}
	}
	return nil, req.Storage.Delete(ctx, kv2MetaPrefix+path)
}

func (b *v2Backend) listMetadata(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	prefix := d.Get("path").(string)
	if prefix != "" && prefix[len(prefix)-1] != '/' {
		prefix += "/"
	}
	keys, err := req.Storage.List(ctx, kv2MetaPrefix+prefix)
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(keys), nil
}
