package transit

import (
	"context"
	"errors"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// errInvalidKeyName is Vault's answer to a restore name with a slash.
var errInvalidKeyName = errors.New("key names cannot be paths")

func (b *backend) pathRestore() *framework.Path {
	return &framework.Path{
		Pattern: "restore" + framework.OptionalParamRegex("name"),
		Fields: map[string]*framework.FieldSchema{
			"backup": {Type: framework.TypeString, Description: "Backup from backup/:name"},
			"name":   {Type: framework.TypeString, Description: "Restore under this name instead of the backed-up one"},
			"force":  {Type: framework.TypeBool, Default: false, Description: "Overwrite an existing key"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.restoreKey},
		},
		HelpSynopsis: "Restore the named key.",
	}
}

func (b *backend) restoreKey(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	backup := d.Get("backup").(string)
	if backup == "" {
		return logical.ErrorResponse("'backup' must be supplied"), nil
	}
	name := d.Get("name").(string)
	if strings.Contains(name, "/") {
		return nil, errInvalidKeyName
	}
	if _, err := b.lm.RestorePolicy(ctx, req.Storage, name, backup, d.Get("force").(bool)); err != nil {
		return nil, err
	}
	return nil, nil
}
