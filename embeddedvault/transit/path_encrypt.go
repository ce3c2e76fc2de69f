package transit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/errutil"
	"github.com/hashicorp/vault/sdk/helper/keysutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// errNonceNotAllowed is Vault's answer to a nonce for a key that derives
// its own (everything but convergent version 1 keys).
var errNonceNotAllowed = errors.New("provided nonce not allowed for this key")

func (b *backend) pathEncrypt() *framework.Path {
	return &framework.Path{
		Pattern: "encrypt/" + framework.GenericNameRegex("name"),
		Fields: map[string]*framework.FieldSchema{
			"name":                          {Type: framework.TypeString, Description: "Name of the key"},
			"plaintext":                     {Type: framework.TypeString, Description: "Base64 plaintext to encrypt"},
			"context":                       {Type: framework.TypeString, Description: "Base64 context for key derivation; required for derived keys"},
			"nonce":                         {Type: framework.TypeString, Description: "Base64 nonce; only for convergent version 1 keys"},
			"type":                          {Type: framework.TypeString, Default: "aes256-gcm96", Description: "Type of key to create on upsert"},
			"convergent_encryption":         {Type: framework.TypeBool, Description: "On upsert, create a convergent key"},
			"key_version":                   {Type: framework.TypeInt, Description: "Key version to encrypt with; 0 for latest"},
			"associated_data":               {Type: framework.TypeString, Description: "Base64 associated data for AEAD key types"},
			"partial_failure_response_code": {Type: framework.TypeInt, Description: "Status for a batch in which some items failed"},
			"batch_input":                   {Type: framework.TypeSlice, Description: "List of items to encrypt"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.CreateOperation: &framework.PathOperation{Callback: b.encrypt},
			logical.UpdateOperation: &framework.PathOperation{Callback: b.encrypt},
		},
		// Reporting whether the key exists makes a request for a missing
		// key a "create", so ACLs decide who may create keys by encrypting.
		ExistenceCheck: b.keyExists,
		HelpSynopsis:   "Encrypt a plaintext value or a batch of plaintext blocks using a named key.",
	}
}

func (b *backend) keyExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	p, err := b.readPolicy(ctx, req.Storage, d.Get("name").(string))
	if err != nil || p == nil {
		return false, err
	}
	p.Unlock()
	return true, nil
}

// encryptResult is one element of encrypt's (and rewrap's) batch_results.
type encryptResult struct {
	Ciphertext string `json:"ciphertext,omitempty"`
	KeyVersion int    `json:"key_version,omitempty"`
	Error      string `json:"error,omitempty"`
	Reference  string `json:"reference"`
}

// singleOrBatch returns the batch items, or one item built from the
// top-level fields; single reports the latter.
func singleOrBatch(d *framework.FieldData, required, missingMsg string, fields ...string) (items []batchItem, single bool, resp *logical.Response, err error) {
	if raw := d.Raw["batch_input"]; raw != nil {
		items, err := decodeBatch(raw, required, missingMsg)
		if err != nil {
			return nil, false, nil, fmt.Errorf("failed to parse batch input: %w", err)
		}
		if len(items) == 0 {
			resp, err := errorResponse("missing batch input to process")
			return nil, false, resp, err
		}
		return items, false, nil, nil
	}
	it := batchItem{fields: map[string]string{}}
	for _, f := range fields {
		if v, ok := d.GetOk(f); ok {
			it.fields[f] = v.(string)
		}
	}
	if _, ok := d.Schema["key_version"]; ok {
		it.keyVersion = d.Get("key_version").(int)
	}
	return []batchItem{it}, true, nil, nil
}

// decodedItem is a batch item with its base64 arguments decoded.
type decodedItem struct {
	context, nonce []byte
}

// decodeItems decodes context and nonce of every item; it refuses a batch
// that mixes items with and without context, like Vault. Per-item decode
// errors land in errs.
func decodeItems(items []batchItem, errs []string) ([]decodedItem, *logical.Response, error) {
	out := make([]decodedItem, len(items))
	withContext := items[0].get("context") != ""
	for i, it := range items {
		if (it.get("context") != "") != withContext {
			resp, err := errorResponse("context should be set either in all the request blocks or in none")
			return nil, resp, err
		}
		if errs[i] != "" {
			continue
		}
		var err error
		if c := it.get("context"); c != "" {
			if out[i].context, err = base64.StdEncoding.DecodeString(c); err != nil {
				errs[i] = err.Error()
				continue
			}
		}
		if n := it.get("nonce"); n != "" {
			if out[i].nonce, err = base64.StdEncoding.DecodeString(n); err != nil {
				errs[i] = err.Error()
			}
		}
	}
	return out, nil, nil
}

func (b *backend) encrypt(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	items, single, resp, err := singleOrBatch(d, "plaintext", "missing plaintext to encrypt", "plaintext", "context", "nonce", "associated_data")
	if resp != nil || err != nil {
		return resp, err
	}
	if single && !items[0].has("plaintext") {
		return errorResponse("missing plaintext to encrypt")
	}
	errs := make([]string, len(items))
	for i, it := range items {
		if _, err := base64.StdEncoding.DecodeString(it.get("plaintext")); err != nil {
			errs[i] = err.Error()
		}
	}
	decoded, resp, err := decodeItems(items, errs)
	if resp != nil || err != nil {
		return resp, err
	}
	withContext := items[0].get("context") != ""

	polReq := keysutil.PolicyRequest{Storage: req.Storage, Name: name}
	if req.Operation == logical.CreateOperation {
		convergent := d.Get("convergent_encryption").(bool)
		if convergent && !withContext {
			return logical.ErrorResponse("convergent encryption requires derivation to be enabled, so context is required"), nil
		}
		cfg, err := loadKeysConfig(ctx, req.Storage)
		if err != nil {
			return nil, err
		}
		polReq.Upsert, polReq.Derived, polReq.Convergent = !cfg.DisableUpsert, withContext, convergent
		switch typ := d.Get("type").(string); typ {
		case "aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "rsa-2048", "rsa-3072", "rsa-4096":
			polReq.KeyType, _ = parseKeyType(typ)
		case "ecdsa-p256", "ecdsa-p384", "ecdsa-p521":
			return errorResponse("key type %v not supported for this operation", typ)
		default:
			return errorResponse("unknown key type %v", typ)
		}
	}
	p, upserted, err := b.policy(ctx, polReq, false)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return errorResponse("encryption key not found")
	}
	defer p.Unlock()

	var out batchOutcome
	results := make([]encryptResult, len(items))
	for i, it := range items {
		results[i].Reference = it.get("reference")
		if errs[i] != "" {
			results[i].Error, out.userErrors = errs[i], true
			continue
		}
		ct, internal, msg := encryptItem(p, i, it, decoded[i])
		if msg != "" {
			results[i].Error = msg
			out.failed(internal)
			continue
		}
		out.successes = true
		results[i].Ciphertext, results[i].KeyVersion = ct, it.keyVersion
		if it.keyVersion == 0 {
			results[i].KeyVersion = p.LatestVersion
		}
	}
	resp = &logical.Response{}
	if single {
		if results[0].Error != "" {
			if out.internalErrors {
				return nil, errutil.InternalError{Err: results[0].Error}
			}
			return errorResponse("%s", results[0].Error)
		}
		resp.Data = map[string]any{"ciphertext": results[0].Ciphertext, "key_version": results[0].KeyVersion}
	} else {
		resp.Data = map[string]any{"batch_results": results}
	}
	if req.Operation == logical.CreateOperation && !upserted {
		resp.AddWarning("Attempted creation of the key during the encrypt operation, but it was created beforehand")
	}
	return out.respond(d, resp, req)
}

// encryptItem encrypts one item; msg is the item's error, internal whether
// it is a server-side failure.
func encryptItem(p *keysutil.Policy, i int, it batchItem, dec decodedItem) (ct string, internal bool, msg string) {
	if it.get("nonce") != "" && !nonceAllowed(p) {
		return "", false, errNonceNotAllowed.Error()
	}
	var factories []any
	if ad := it.get("associated_data"); ad != "" {
		if !p.Type.AssociatedDataSupported() {
			return "", false, fmt.Sprintf("'[%d].associated_data' provided for non-AEAD cipher suite %v", i, p.Type.String())
		}
		factories = append(factories, associatedData(ad))
	}
	opts := keysutil.EncryptionOptions{KeyVersion: it.keyVersion, Context: dec.context, Nonce: dec.nonce}
	ct, err := p.EncryptWithOptions(opts, it.get("plaintext"), factories...)
	if err != nil {
		var ie errutil.InternalError
		return "", errors.As(err, &ie), err.Error()
	}
	if ct == "" {
		return "", false, fmt.Sprintf("empty ciphertext returned for input item %d", i)
	}
	return ct, false, ""
}

// nonceAllowed: only convergent version 1 keys take the caller's nonce.
func nonceAllowed(p *keysutil.Policy) bool {
	switch p.Type {
	case keysutil.KeyType_AES128_GCM96, keysutil.KeyType_AES256_GCM96, keysutil.KeyType_ChaCha20_Poly1305:
		return p.ConvergentEncryption && p.ConvergentVersion == 1
	}
	return false
}

// associatedData hands base64 associated data to keysutil.
type associatedData string

// GetAssociatedData implements keysutil.AssociatedDataFactory.
func (a associatedData) GetAssociatedData() ([]byte, error) {
	return base64.StdEncoding.DecodeString(string(a))
}
