package transit

import (
	"context"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/keysutil"
	"github.com/hashicorp/vault/sdk/logical"
)

func (b *backend) pathRotate() *framework.Path {
	return &framework.Path{
		Pattern: "keys/" + framework.GenericNameRegex("name") + "/rotate",
		Fields: map[string]*framework.FieldSchema{
			"name": {Type: framework.TypeString, Description: "Name of the key"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.rotateKey},
		},
		HelpSynopsis: "Rotate the named key: add a new latest version.",
	}
}

func (b *backend) pathTrim() *framework.Path {
	return &framework.Path{
		Pattern: "keys/" + framework.GenericNameRegex("name") + "/trim",
		Fields: map[string]*framework.FieldSchema{
			"name":                  {Type: framework.TypeString, Description: "Name of the key"},
			"min_available_version": {Type: framework.TypeInt, Description: "Versions below this one are deleted for good"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.trimKey},
		},
		HelpSynopsis: "Trim key versions of a named key.",
	}
}

func (b *backend) rotateKey(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	p, _, err := b.policy(ctx, keysutil.PolicyRequest{Storage: req.Storage, Name: d.Get("name").(string)}, true)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return errorResponse("key not found")
	}
	defer p.Unlock()
	if err := p.Rotate(ctx, req.Storage, b.GetRandomReader()); err != nil {
		return nil, err
	}
	return formatKey(p, nil)
}

func (b *backend) trimKey(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	p, _, err := b.policy(ctx, keysutil.PolicyRequest{Storage: req.Storage, Name: d.Get("name").(string)}, true)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return errorResponse("invalid key name")
	}
	defer p.Unlock()
	raw, ok, err := d.GetOkErr("min_available_version")
	if err != nil {
		return nil, err
	}
	if !ok {
		return logical.ErrorResponse("missing min_available_version"), nil
	}
	v := raw.(int)
	var msg string
	switch {
	case v < p.MinAvailableVersion:
		msg = "minimum available version cannot be decremented"
	case p.MinEncryptionVersion == 0:
		msg = "minimum available version cannot be set when minimum encryption version is not set"
	case p.MinDecryptionVersion == 0:
		msg = "minimum available version cannot be set when minimum decryption version is not set"
	case v > p.MinEncryptionVersion:
		msg = "minimum available version cannot be greater than minmum encryption version" // sic, Vault's spelling
	case v > p.MinDecryptionVersion:
		msg = "minimum available version cannot be greater than minimum decryption version"
	case v < 0:
		msg = "minimum available version cannot be negative"
	case v == 0:
		msg = "minimum available version should be positive"
	}
	if msg != "" {
		return logical.ErrorResponse(msg), nil
	}
	old := p.MinAvailableVersion
	p.MinAvailableVersion = v
	if err := p.Persist(ctx, req.Storage); err != nil {
		p.MinAvailableVersion = old
		return nil, err
	}
	return formatKey(p, nil)
}
