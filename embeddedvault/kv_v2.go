package embeddedvault

import (
	"context"

	"github.com/hashicorp/vault/sdk/logical"
)

func newKVv2(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	return nil, badRequest("kv v2 not implemented yet")
}
