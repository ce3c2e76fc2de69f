package approle

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/tokenutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// rolePaths: role/ (list), role/:name (CRUD), role/:name/role-id.
func (b *backend) rolePaths() []*framework.Path {
	fields := map[string]*framework.FieldSchema{
		"role_name":             {Type: framework.TypeString, Description: "Name of the role."},
		"bind_secret_id":        {Type: framework.TypeBool, Default: true, Description: "Require a secret ID at login."},
		"secret_id_num_uses":    {Type: framework.TypeInt, Description: "Uses per secret ID; 0 is unlimited."},
		"secret_id_ttl":         {Type: framework.TypeDurationSecond, Description: "Secret ID lifetime; 0 never expires."},
		"secret_id_bound_cidrs": {Type: framework.TypeCommaStringSlice, Description: "CIDRs allowed to log in."},
		"local_secret_ids":      {Type: framework.TypeBool, Description: "Accepted for compatibility."},
		"role_id":               {Type: framework.TypeString, Description: "Custom role ID."},
		"period":                {Type: framework.TypeDurationSecond, Description: tokenutil.DeprecationText("token_period"), Deprecated: true},
		"policies":              {Type: framework.TypeCommaStringSlice, Description: tokenutil.DeprecationText("token_policies"), Deprecated: true},
		"bound_cidr_list":       {Type: framework.TypeCommaStringSlice, Description: "Deprecated: use secret_id_bound_cidrs.", Deprecated: true},
	}
	tokenutil.AddTokenFields(fields)
	return []*framework.Path{
		{
			Pattern: "role/?",
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ListOperation: &framework.PathOperation{Callback: b.listRoles},
			},
			HelpSynopsis: "Lists all the roles.",
		},
		{
			Pattern:        "role/" + framework.GenericNameRegex("role_name"),
			Fields:         fields,
			ExistenceCheck: b.roleExists,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.CreateOperation: &framework.PathOperation{Callback: b.writeRole},
				logical.UpdateOperation: &framework.PathOperation{Callback: b.writeRole},
				logical.ReadOperation:   &framework.PathOperation{Callback: b.readRole},
				logical.DeleteOperation: &framework.PathOperation{Callback: b.deleteRole},
			},
			HelpSynopsis: "Register a role.",
		},
		{
			Pattern: "role/" + framework.GenericNameRegex("role_name") + "/role-id$",
			Fields: map[string]*framework.FieldSchema{
				"role_name": {Type: framework.TypeString, Description: "Name of the role."},
				"role_id":   {Type: framework.TypeString, Description: "New role ID."},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   &framework.PathOperation{Callback: b.readRoleID},
				logical.UpdateOperation: &framework.PathOperation{Callback: b.writeRoleID},
			},
			HelpSynopsis: "Read or set the role ID.",
		},
	}
}

func (b *backend) roleExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	r, err := b.role(ctx, req.Storage, d.Get("role_name").(string))
	return r != nil, err
}

func (b *backend) listRoles(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	keys, err := req.Storage.List(ctx, arRolePrefix)
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(keys), nil
}

// writeRole creates or updates a role; on update unspecified fields keep
// their values.
func (b *backend) writeRole(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.Get("role_name").(string))
	b.mu.Lock()
	defer b.mu.Unlock()
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		r = &roleEntry{Name: name, BindSecretID: true}
	}
	if err := r.ParseTokenFields(req, d); err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	if v, ok := d.GetOk("period"); ok {
		if _, set := d.GetOk("token_period"); !set {
			r.TokenPeriod = time.Duration(v.(int)) * time.Second
		}
	}
	if v, ok := d.GetOk("policies"); ok {
		if _, set := d.GetOk("token_policies"); !set {
			r.TokenPolicies = v.([]string)
		}
	}
	if v, ok := d.GetOk("bind_secret_id"); ok {
		r.BindSecretID = v.(bool)
	}
	if v, ok := d.GetOk("secret_id_num_uses"); ok {
		if r.SecretIDNumUses = v.(int); r.SecretIDNumUses < 0 {
			return logical.ErrorResponse("secret_id_num_uses cannot be negative"), nil
		}
	}
	if v, ok := d.GetOk("secret_id_ttl"); ok {
		r.SecretIDTTL = time.Duration(v.(int)) * time.Second
	}
	if v, ok := d.GetOk("secret_id_bound_cidrs"); ok {
		r.SecretIDBoundCIDRs = v.([]string)
	} else if v, ok := d.GetOk("bound_cidr_list"); ok {
		r.SecretIDBoundCIDRs = v.([]string)
	}
	if err := validCIDRs(r.SecretIDBoundCIDRs); err != nil {
		return logical.ErrorResponse("invalid secret_id_bound_cidrs: %v", err), nil
	}
	if v, ok := d.GetOk("local_secret_ids"); ok {
		r.LocalSecretIDs = v.(bool)
	}
	if !r.BindSecretID && len(r.SecretIDBoundCIDRs) == 0 && len(r.TokenBoundCIDRs) == 0 {
		return logical.ErrorResponse("at least one constraint should be enabled on the role"), nil
	}
	newID := r.RoleID
	if v, ok := d.GetOk("role_id"); ok && v.(string) != "" {
		newID = v.(string)
	}
	if newID == "" {
		newID = uuid.NewString()
	}
	if resp, err := b.setRoleID(ctx, req.Storage, r, newID); resp != nil || err != nil {
		return resp, err
	}
	return nil, b.putRole(ctx, req.Storage, r)
}

// setRoleID points the role-ID index at r; b.mu must be held. An ID
// another role holds is refused with an error response; storage failures
// are returned as errors, so they answer 500 rather than 400.
func (b *backend) setRoleID(ctx context.Context, s logical.Storage, r *roleEntry, id string) (*logical.Response, error) {
	e, err := s.Get(ctx, arRoleIDPrefix+id)
	switch {
	case err != nil:
		return nil, err
	case e != nil && id == r.RoleID:
		return nil, nil
	case e != nil:
		return logical.ErrorResponse(errRoleIDInUse), nil
	}
	if r.RoleID != "" && r.RoleID != id {
		if err := s.Delete(ctx, arRoleIDPrefix+r.RoleID); err != nil {
			return nil, err
		}
	}
	r.RoleID = id
	return nil, s.Put(ctx, &logical.StorageEntry{Key: arRoleIDPrefix + id, Value: []byte(r.Name)})
}

func (b *backend) readRole(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := b.role(ctx, req.Storage, d.Get("role_name").(string))
	if err != nil || r == nil {
		return nil, err
	}
	data := map[string]any{
		"bind_secret_id":        r.BindSecretID,
		"secret_id_num_uses":    r.SecretIDNumUses,
		"secret_id_ttl":         int64(r.SecretIDTTL / time.Second),
		"secret_id_bound_cidrs": nonNil(r.SecretIDBoundCIDRs),
		"local_secret_ids":      r.LocalSecretIDs,
	}
	r.PopulateTokenData(data)
	// Deprecated mirrors, still read by older tooling.
	data["policies"] = data["token_policies"]
	data["period"] = data["token_period"]
	return &logical.Response{Data: data}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (b *backend) deleteRole(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.Get("role_name").(string))
	b.mu.Lock()
	defer b.mu.Unlock()
	r, err := b.role(ctx, req.Storage, name)
	if err != nil || r == nil {
		return nil, err
	}
	secrets, err := req.Storage.List(ctx, arSecretIDPrefix+name+"/")
	if err != nil {
		return nil, err
	}
	for _, h := range secrets {
		if err := b.deleteSecretID(ctx, req.Storage, arSecretIDPrefix+name+"/"+h); err != nil {
			return nil, err
		}
	}
	if err := req.Storage.Delete(ctx, arRoleIDPrefix+r.RoleID); err != nil {
		return nil, err
	}
	return nil, req.Storage.Delete(ctx, arRolePrefix+name)
}

func (b *backend) readRoleID(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	r, err := b.role(ctx, req.Storage, d.Get("role_name").(string))
	if err != nil || r == nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"role_id": r.RoleID}}, nil
}

func (b *backend) writeRoleID(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, err := b.role(ctx, req.Storage, d.Get("role_name").(string))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return logical.ErrorResponse("role %q does not exist", d.Get("role_name")), nil
	}
	id := d.Get("role_id").(string)
	if id == "" {
		return logical.ErrorResponse("missing role_id"), nil
	}
	if resp, err := b.setRoleID(ctx, req.Storage, r, id); resp != nil || err != nil {
		return resp, err
	}
	return nil, b.putRole(ctx, req.Storage, r)
}
