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

func (b *backend) pathDecrypt() *framework.Path {
	return &framework.Path{
		Pattern: "decrypt/" + framework.GenericNameRegex("name"),
		Fields: map[string]*framework.FieldSchema{
			"name":                          {Type: framework.TypeString, Description: "Name of the key"},
			"ciphertext":                    {Type: framework.TypeString, Description: "Ciphertext to decrypt (vault:v<N>:...)"},
			"context":                       {Type: framework.TypeString, Description: "Base64 context for key derivation; required for derived keys"},
			"nonce":                         {Type: framework.TypeString, Description: "Base64 nonce; only for convergent version 1 keys"},
			"associated_data":               {Type: framework.TypeString, Description: "Base64 associated data given at encryption"},
			"partial_failure_response_code": {Type: framework.TypeInt, Description: "Status for a batch in which some items failed"},
			"batch_input":                   {Type: framework.TypeSlice, Description: "List of items to decrypt"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.decrypt},
		},
		HelpSynopsis: "Decrypt a ciphertext value using a named key.",
	}
}

// decryptResult is one element of decrypt's batch_results.
type decryptResult struct {
	Plaintext string `json:"plaintext"`
	Error     string `json:"error,omitempty"`
	Reference string `json:"reference"`
}

func (b *backend) decrypt(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	items, single, errs, decoded, resp, err := ciphertextItems(d, "ciphertext", "context", "nonce", "associated_data")
	if resp != nil || err != nil {
		return resp, err
	}
	p, resp, err := b.requirePolicy(ctx, req, d, "encryption key not found")
	if p == nil {
		return resp, err
	}
	defer p.Unlock()

	var out batchOutcome
	results := make([]decryptResult, len(items))
	for i, it := range items {
		results[i].Reference = it.get("reference")
		if errs[i] != "" {
			results[i].Error, out.userErrors = errs[i], true
			continue
		}
		pt, err := decryptItem(p, i, it, decoded[i])
		if err != nil {
			results[i].Error = err.Error()
			var ie errutil.InternalError
			out.failed(errors.As(err, &ie))
			continue
		}
		out.successes = true
		results[i].Plaintext = pt
	}
	if single {
		if results[0].Error != "" {
			if out.internalErrors {
				return nil, errutil.InternalError{Err: results[0].Error}
			}
			return errorResponse("%s", results[0].Error)
		}
		return &logical.Response{Data: map[string]any{"plaintext": results[0].Plaintext}}, nil
	}
	return out.respond(d, &logical.Response{Data: map[string]any{"batch_results": results}}, req)
}

// ciphertextItems gathers decrypt's and rewrap's items with their context
// and nonce decoded: a missing ciphertext fails a single request, and
// marks the item of a batch (errs).
func ciphertextItems(d *framework.FieldData, fields ...string) (items []batchItem, single bool, errs []string, decoded []decodedItem, resp *logical.Response, err error) {
	required, missing := "", ""
	if _, isDecrypt := d.Schema["associated_data"]; isDecrypt {
		required, missing = "ciphertext", "missing ciphertext to decrypt" // Vault's rewrap does not require it up front
	}
	if items, single, resp, err = singleOrBatch(d, required, missing, fields...); resp != nil || err != nil {
		return nil, false, nil, nil, resp, err
	}
	if single && items[0].get("ciphertext") == "" {
		resp, err = errorResponse("missing ciphertext to decrypt")
		return nil, false, nil, nil, resp, err
	}
	errs = make([]string, len(items))
	for i, it := range items {
		if it.get("ciphertext") == "" {
			errs[i] = "missing ciphertext to decrypt"
		}
	}
	decoded, resp, err = decodeItems(items, errs)
	return items, single, errs, decoded, resp, err
}

// decryptItem parses and opens one ciphertext; errors are keysutil's
// (user errors for bad input, internal ones for server faults).
func decryptItem(p *keysutil.Policy, i int, it batchItem, dec decodedItem) (string, error) {
	var factories []any
	if ad := it.get("associated_data"); ad != "" {
		if !p.Type.AssociatedDataSupported() {
			return "", errutil.UserError{Err: fmt.Sprintf("'[%d].associated_data' provided for non-AEAD cipher suite %v", i, p.Type.String())}
		}
		factories = append(factories, associatedData(ad))
	}
	opts := keysutil.EncryptionOptions{Context: dec.context, Nonce: dec.nonce}
	return p.DecryptWithOptions(opts, it.get("ciphertext"), factories...)
}
