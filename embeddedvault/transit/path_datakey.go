package transit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/errutil"
	"github.com/hashicorp/vault/sdk/helper/keysutil"
	"github.com/hashicorp/vault/sdk/logical"
)

func (b *backend) pathDatakey() *framework.Path {
	return &framework.Path{
		Pattern: "datakey/" + framework.GenericNameRegex("plaintext") + "/" + framework.GenericNameRegex("name"),
		Fields: map[string]*framework.FieldSchema{
			"name":        {Type: framework.TypeString, Description: "The key that encrypts the data key"},
			"plaintext":   {Type: framework.TypeString, Description: `"plaintext" returns the key and its ciphertext; "wrapped" the ciphertext only`},
			"context":     {Type: framework.TypeString, Description: "Base64 context for key derivation; required for derived keys"},
			"nonce":       {Type: framework.TypeString, Description: "Base64 nonce; only for convergent version 1 keys"},
			"bits":        {Type: framework.TypeInt, Default: 256, Description: "Data key length: 128, 256 or 512 bits"},
			"key_version": {Type: framework.TypeInt, Description: "Key version to encrypt with; 0 for latest"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.datakey},
		},
		HelpSynopsis: "Generate a data key.",
	}
}

func (b *backend) datakey(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	opts := keysutil.EncryptionOptions{KeyVersion: d.Get("key_version").(int)}
	var err error
	if c := d.Get("context").(string); c != "" {
		if opts.Context, err = base64.StdEncoding.DecodeString(c); err != nil {
			return errorResponse("failed to base64-decode context")
		}
	}
	if n := d.Get("nonce").(string); n != "" {
		if opts.Nonce, err = base64.StdEncoding.DecodeString(n); err != nil {
			return errorResponse("failed to base64-decode nonce")
		}
	}
	bits := d.Get("bits").(int)
	if bits != 128 && bits != 256 && bits != 512 {
		return errorResponse("invalid bit length")
	}
	var withPlaintext bool
	switch d.Get("plaintext").(string) {
	case "plaintext":
		withPlaintext = true
	case "wrapped":
	default:
		return errorResponse("Invalid path, must be 'plaintext' or 'wrapped'")
	}
	p, resp, err := b.requirePolicy(ctx, req, d, "encryption key not found")
	if p == nil {
		return resp, err
	}
	defer p.Unlock()
	if len(opts.Nonce) > 0 && !nonceAllowed(p) {
		return nil, errNonceNotAllowed
	}
	dataKey := make([]byte, bits/8)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, err
	}
	encoded := base64.StdEncoding.EncodeToString(dataKey)
	ct, err := p.EncryptWithOptions(opts, encoded)
	if err != nil {
		var ue errutil.UserError
		if errors.As(err, &ue) {
			return errorResponse("%s", err.Error())
		}
		return nil, err
	}
	if ct == "" {
		return nil, fmt.Errorf("empty ciphertext returned")
	}
	version := opts.KeyVersion
	if version == 0 {
		version = p.LatestVersion
	}
	data := map[string]any{"key_version": version, "ciphertext": ct}
	if withPlaintext {
		data["plaintext"] = encoded
	}
	return &logical.Response{Data: data}, nil
}
