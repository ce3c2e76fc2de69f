package approle

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// secretIDPaths: role/:name/secret-id (generate, list accessors), and
// lookup/destroy by secret ID or accessor.
func (b *backend) secretIDPaths() []*framework.Path {
	name := framework.GenericNameRegex("role_name")
	roleField := &framework.FieldSchema{Type: framework.TypeString, Description: "Name of the role."}
	return []*framework.Path{
		{
			Pattern: "role/" + name + "/secret-id/?$",
			Fields:  generateFields(roleField),
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: &framework.PathOperation{Callback: b.generateSecretID},
				logical.ListOperation:   &framework.PathOperation{Callback: b.listSecretIDs},
			},
			HelpSynopsis: "Generate a secret ID or list accessors.",
		},
		{
			// custom-secret-id: as secret-id, with the caller's secret_id (kmsbox's seed file
			// fixes AppRole credentials this way, as Vault's API allows).
			Pattern: "role/" + name + "/custom-secret-id$",
			Fields:  withSecretID(generateFields(roleField)),
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: &framework.PathOperation{Callback: b.generateSecretID},
			},
			HelpSynopsis: "Register a secret ID of the caller's choice.",
		},
		{
			Pattern: "role/" + name + "/secret-id/(lookup|destroy)/?$",
			Fields: map[string]*framework.FieldSchema{
				"role_name": roleField,
				"secret_id": {Type: framework.TypeString, Description: "The secret ID."},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: &framework.PathOperation{Callback: b.secretIDBySecret},
				logical.DeleteOperation: &framework.PathOperation{Callback: b.secretIDBySecret},
			},
			HelpSynopsis: "Look up or destroy a secret ID.",
		},
		{
			Pattern: "role/" + name + "/secret-id-accessor/(lookup|destroy)/?$",
			Fields: map[string]*framework.FieldSchema{
				"role_name":          roleField,
				"secret_id_accessor": {Type: framework.TypeString, Description: "Accessor of the secret ID."},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.UpdateOperation: &framework.PathOperation{Callback: b.secretIDByAccessor},
				logical.DeleteOperation: &framework.PathOperation{Callback: b.secretIDByAccessor},
			},
			HelpSynopsis: "Look up or destroy a secret ID by accessor.",
		},
	}
}

// generateFields are the fields of secret-id and custom-secret-id.
func generateFields(roleField *framework.FieldSchema) map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"role_name":         roleField,
		"metadata":          {Type: framework.TypeString, Description: "JSON object of string metadata."},
		"cidr_list":         {Type: framework.TypeCommaStringSlice, Description: "CIDRs allowed to use the secret ID."},
		"token_bound_cidrs": {Type: framework.TypeCommaStringSlice, Description: "CIDRs allowed to use the token."},
		"ttl":               {Type: framework.TypeDurationSecond, Description: "Lifetime of the secret ID."},
		"num_uses":          {Type: framework.TypeInt, Description: "Uses of the secret ID."},
	}
}

func withSecretID(f map[string]*framework.FieldSchema) map[string]*framework.FieldSchema {
	f["secret_id"] = &framework.FieldSchema{Type: framework.TypeString, Description: "The secret ID to register."}
	return f
}

func (b *backend) generateSecretID(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, err := b.role(ctx, req.Storage, d.Get("role_name").(string))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return logical.ErrorResponse("role %q does not exist", d.Get("role_name")), nil
	}
	if !r.BindSecretID {
		return logical.ErrorResponse("bind_secret_id is not set on the role"), nil
	}
	e := &secretIDEntry{Accessor: uuid.NewString(), NumUses: r.SecretIDNumUses, TTL: r.SecretIDTTL,
		CreationTime: time.Now().UTC()}
	if v, ok := d.GetOk("num_uses"); ok {
		if e.NumUses = v.(int); e.NumUses < 0 {
			return logical.ErrorResponse("num_uses cannot be negative"), nil
		}
	}
	if v, ok := d.GetOk("ttl"); ok {
		e.TTL = time.Duration(v.(int)) * time.Second
	}
	if e.TTL > 0 {
		e.ExpirationTime = e.CreationTime.Add(e.TTL)
	}
	if m := d.Get("metadata").(string); m != "" {
		if err := json.Unmarshal([]byte(m), &e.Metadata); err != nil {
			return logical.ErrorResponse("failed to parse metadata: %v", err), nil
		}
	}
	e.CIDRList = d.Get("cidr_list").([]string)
	e.TokenCIDRs = d.Get("token_bound_cidrs").([]string)
	if err := validCIDRs(append(append([]string(nil), e.CIDRList...), e.TokenCIDRs...)); err != nil {
		return logical.ErrorResponse("invalid CIDR: %v", err), nil
	}
	secretID := uuid.NewString()
	if strings.HasSuffix(req.Path, "/custom-secret-id") {
		custom := d.Get("secret_id").(string)
		if custom == "" {
			return logical.ErrorResponse("missing secret_id"), nil
		}
		secretID = custom
	}
	key, err := b.secretIDKey(ctx, req.Storage, r.Name, secretID)
	if err != nil {
		return nil, err
	}
	if old, err := b.getSecretID(ctx, req.Storage, key); err != nil {
		return nil, err
	} else if old != nil {
		return logical.ErrorResponse("SecretID is already registered"), nil
	}
	if err := b.putSecretID(ctx, req.Storage, key, e); err != nil {
		return nil, err
	}
	if err := req.Storage.Put(ctx, &logical.StorageEntry{Key: arAccessorPrefix + e.Accessor, Value: []byte(key)}); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"secret_id":          secretID,
		"secret_id_accessor": e.Accessor,
		"secret_id_ttl":      int64(e.TTL / time.Second),
		"secret_id_num_uses": e.NumUses,
	}}, nil
}

func (b *backend) putSecretID(ctx context.Context, s logical.Storage, key string, e *secretIDEntry) error {
	se, err := logical.StorageEntryJSON(key, e)
	if err != nil {
		return err
	}
	return s.Put(ctx, se)
}

func (b *backend) getSecretID(ctx context.Context, s logical.Storage, key string) (*secretIDEntry, error) {
	se, err := s.Get(ctx, key)
	if err != nil || se == nil {
		return nil, err
	}
	var e secretIDEntry
	return &e, se.DecodeJSON(&e)
}

// deleteSecretID removes a secret ID and its accessor index.
func (b *backend) deleteSecretID(ctx context.Context, s logical.Storage, key string) error {
	e, err := b.getSecretID(ctx, s, key)
	if err != nil || e == nil {
		return err
	}
	if err := s.Delete(ctx, arAccessorPrefix+e.Accessor); err != nil {
		return err
	}
	return s.Delete(ctx, key)
}

func (b *backend) listSecretIDs(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.Get("role_name").(string))
	hashes, err := req.Storage.List(ctx, arSecretIDPrefix+name+"/")
	if err != nil {
		return nil, err
	}
	var accessors []string
	for _, h := range hashes {
		e, err := b.getSecretID(ctx, req.Storage, arSecretIDPrefix+name+"/"+h)
		if err != nil {
			return nil, err
		}
		if e != nil {
			accessors = append(accessors, e.Accessor)
		}
	}
	return logical.ListResponse(accessors), nil
}

func secretIDData(e *secretIDEntry) map[string]any {
	var exp any
	if !e.ExpirationTime.IsZero() {
		exp = e.ExpirationTime.Format(time.RFC3339Nano)
	}
	return map[string]any{
		"secret_id_accessor": e.Accessor, "secret_id_num_uses": e.NumUses,
		"secret_id_ttl": int64(e.TTL / time.Second), "creation_time": e.CreationTime.Format(time.RFC3339Nano),
		"expiration_time": exp, "metadata": e.Metadata, "cidr_list": nonNil(e.CIDRList),
		"token_bound_cidrs": nonNil(e.TokenCIDRs),
	}
}

func (b *backend) secretIDBySecret(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.Get("role_name").(string))
	sid := d.Get("secret_id").(string)
	if sid == "" {
		return logical.ErrorResponse("missing secret_id"), nil
	}
	key, err := b.secretIDKey(ctx, req.Storage, name, sid)
	if err != nil {
		return nil, err
	}
	return b.lookupOrDestroy(ctx, req, key)
}

func (b *backend) secretIDByAccessor(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := strings.ToLower(d.Get("role_name").(string))
	acc := d.Get("secret_id_accessor").(string)
	if acc == "" {
		return logical.ErrorResponse("missing secret_id_accessor"), nil
	}
	ae, err := req.Storage.Get(ctx, arAccessorPrefix+acc)
	if err != nil {
		return nil, err
	}
	if ae == nil || !strings.HasPrefix(string(ae.Value), arSecretIDPrefix+name+"/") {
		return logical.ErrorResponse("failed to find accessor entry for secret_id_accessor: %q", acc), nil
	}
	return b.lookupOrDestroy(ctx, req, string(ae.Value))
}

func (b *backend) lookupOrDestroy(ctx context.Context, req *logical.Request, key string) (*logical.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if req.Operation == logical.DeleteOperation || strings.Contains(req.Path, "/destroy") {
		return nil, b.deleteSecretID(ctx, req.Storage, key)
	}
	e, err := b.getSecretID(ctx, req.Storage, key)
	if err != nil || e == nil {
		return nil, err
	}
	return &logical.Response{Data: secretIDData(e)}, nil
}
