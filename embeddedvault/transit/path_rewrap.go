package transit

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/errutil"
	"github.com/hashicorp/vault/sdk/helper/keysutil"
	"github.com/hashicorp/vault/sdk/logical"
)

func (b *backend) pathRewrap() *framework.Path {
	return &framework.Path{
		Pattern: "rewrap/" + framework.GenericNameRegex("name"),
		Fields: map[string]*framework.FieldSchema{
			"name":        {Type: framework.TypeString, Description: "Name of the key"},
			"ciphertext":  {Type: framework.TypeString, Description: "Ciphertext to re-encrypt with the latest (or key_version) key"},
			"context":     {Type: framework.TypeString, Description: "Base64 context for key derivation; required for derived keys"},
			"nonce":       {Type: framework.TypeString, Description: "Base64 nonce; only for convergent version 1 keys"},
			"key_version": {Type: framework.TypeInt, Description: "Key version to re-encrypt with; 0 for latest"},
			"batch_input": {Type: framework.TypeSlice, Description: "List of items to rewrap"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.rewrap},
		},
		HelpSynopsis: "Rewrap ciphertext with the latest version of the named key.",
	}
}

// rewrap decrypts and re-encrypts; unlike encrypt and decrypt, Vault
// answers a batch with failed items with 200, and a server-side failure of
// any item fails the whole request.
func (b *backend) rewrap(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	items, single, errs, decoded, resp, err := ciphertextItems(d, "ciphertext", "context", "nonce")
	if resp != nil || err != nil {
		return resp, err
	}
	p, resp, err := b.requirePolicy(ctx, req, d, "encryption key not found")
	if p == nil {
		return resp, err
	}
	defer p.Unlock()

	results := make([]encryptResult, len(items))
	for i, it := range items {
		results[i].Reference = it.get("reference")
		if errs[i] != "" {
			results[i].Error = errs[i]
			continue
		}
		if it.get("nonce") != "" && !nonceAllowed(p) {
			results[i].Error = errNonceNotAllowed.Error()
			continue
		}
		ct, err := rewrapItem(p, i, it, decoded[i])
		var ue errutil.UserError
		switch {
		case errors.As(err, &ue):
			results[i].Error = err.Error()
			continue
		case err != nil:
			return nil, err
		}
		results[i].Ciphertext, results[i].KeyVersion = ct, it.keyVersion
		if it.keyVersion == 0 {
			results[i].KeyVersion = p.LatestVersion
		}
	}
	if !single {
		return &logical.Response{Data: map[string]any{"batch_results": results}}, nil
	}
	if results[0].Error != "" {
		return errorResponse("%s", results[0].Error)
	}
	return &logical.Response{Data: map[string]any{"ciphertext": results[0].Ciphertext, "key_version": results[0].KeyVersion}}, nil
}

func rewrapItem(p *keysutil.Policy, i int, it batchItem, dec decodedItem) (string, error) {
	pt, err := decryptItem(p, i, it, dec)
	if err != nil {
		return "", err
	}
	opts := keysutil.EncryptionOptions{KeyVersion: it.keyVersion, Context: dec.context, Nonce: dec.nonce}
	ct, err := p.EncryptWithOptions(opts, pt)
	if err != nil {
		return "", err
	}
	if ct == "" {
		return "", fmt.Errorf("empty ciphertext returned for input item %d", i)
	}
	return ct, nil
}
