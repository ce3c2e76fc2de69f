package transit

import (
	"context"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

func (b *backend) pathCacheConfig() *framework.Path {
	return &framework.Path{
		Pattern: "cache-config",
		Fields: map[string]*framework.FieldSchema{
			"size": {Type: framework.TypeInt, Default: 0, Description: "Policy cache size; 0 means unlimited, else at least 10"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   &framework.PathOperation{Callback: b.readCacheConfig, Summary: "Returns the size of the active cache"},
			logical.UpdateOperation: &framework.PathOperation{Callback: b.writeCacheConfig, Summary: "Configures a new cache of the specified size"},
		},
		HelpSynopsis: "Configure the policy cache.",
	}
}

// cacheConfig is the stored cache-config.
type cacheConfig struct {
	Size int `json:"size"`
}

func (b *backend) writeCacheConfig(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	size := d.Get("size").(int)
	if size != 0 && size < minCacheSize {
		return errorResponse("size must be 0 or a value greater or equal to %d", minCacheSize)
	}
	entry, err := logical.StorageEntryJSON(cacheConfigPath, &cacheConfig{Size: size})
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Put(ctx, entry); err != nil {
		return nil, err
	}
	if err := b.lm.InitCache(size); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"size": size}}, nil
}

func (b *backend) readCacheConfig(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	size, err := cacheSizeFromStorage(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if size != b.lm.GetCacheSize() {
		if err := b.lm.InitCache(size); err != nil {
			return nil, err
		}
	}
	return &logical.Response{Data: map[string]any{"size": size}}, nil
}
