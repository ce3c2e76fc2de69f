package embeddedvault

import (
	"context"

	"github.com/hashicorp/vault/sdk/logical"
)

func newAppRole(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	return nil, badRequest("approle not implemented yet")
}
