package approle

import (
	"context"
	"maps"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// Error messages of AppRole refusals, as Vault words them.
const (
	errInvalidCredentials = "invalid role or secret ID"
	errRoleIDInUse        = "role_id already in use"
)

func (b *backend) loginPath() *framework.Path {
	return &framework.Path{
		Pattern: "login$",
		Fields: map[string]*framework.FieldSchema{
			"role_id":   {Type: framework.TypeString, Description: "Role ID of the role."},
			"secret_id": {Type: framework.TypeString, Description: "Secret ID of the role."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.login},
		},
		HelpSynopsis: "Issue a token for a role ID and secret ID.",
	}
}

// login checks the role ID and secret ID (counting its use) and returns
// the auth the server turns into a token.
func (b *backend) login(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	roleID := d.Get("role_id").(string)
	if roleID == "" {
		return logical.ErrorResponse("missing role_id"), nil
	}
	ne, err := req.Storage.Get(ctx, arRoleIDPrefix+roleID)
	if err != nil {
		return nil, err
	}
	if ne == nil {
		return logical.ErrorResponse(errInvalidCredentials), nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r, err := b.role(ctx, req.Storage, string(ne.Value))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return logical.ErrorResponse(errInvalidCredentials), nil
	}
	remote := ""
	if req.Connection != nil {
		remote = req.Connection.RemoteAddr
	}
	if !cidrAllowed(r.SecretIDBoundCIDRs, remote) {
		return logical.ErrorResponse("source address %q unauthorized through CIDR restrictions on the role", remote), nil
	}
	meta := map[string]string{"role_name": r.Name}
	if r.BindSecretID {
		sid := d.Get("secret_id").(string)
		if sid == "" {
			return logical.ErrorResponse("missing secret_id"), nil
		}
		key, err := b.secretIDKey(ctx, req.Storage, r.Name, sid)
		if err != nil {
			return nil, err
		}
		e, err := b.getSecretID(ctx, req.Storage, key)
		if err != nil {
			return nil, err
		}
		if e == nil {
			return logical.ErrorResponse(errInvalidCredentials), nil
		}
		if !e.ExpirationTime.IsZero() && !time.Now().Before(e.ExpirationTime) {
			if err := b.deleteSecretID(ctx, req.Storage, key); err != nil {
				return nil, err
			}
			return logical.ErrorResponse(errInvalidCredentials), nil
		}
		if !cidrAllowed(e.CIDRList, remote) {
			return logical.ErrorResponse("source address %q unauthorized through CIDR restrictions on the secret ID", remote), nil
		}
		switch {
		case e.NumUses == 1:
			err = b.deleteSecretID(ctx, req.Storage, key)
		case e.NumUses > 1:
			e.NumUses--
			err = b.putSecretID(ctx, req.Storage, key, e)
		}
		if err != nil {
			return nil, err
		}
		maps.Copy(meta, e.Metadata)
		meta["role_name"] = r.Name
	}
	auth := &logical.Auth{
		InternalData: map[string]any{"role_name": r.Name},
		Metadata:     meta,
		Alias:        &logical.Alias{Name: r.RoleID, Metadata: map[string]string{"role_name": r.Name}},
		DisplayName:  "approle",
	}
	r.PopulateTokenAuth(auth)
	return &logical.Response{Auth: auth}, nil
}
