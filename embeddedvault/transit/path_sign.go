package transit

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/errutil"
	"github.com/hashicorp/vault/sdk/helper/keysutil"
	"github.com/hashicorp/vault/sdk/logical"
)

const defaultHashAlgorithm = "sha2-256"

// signFields are the fields sign and verify share.
func signFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"name":                 {Type: framework.TypeString, Description: "Name of the key"},
		"input":                {Type: framework.TypeString, Description: "Base64 input"},
		"context":              {Type: framework.TypeString, Description: "Base64 context for derived ed25519 keys"},
		"hash_algorithm":       {Type: framework.TypeString, Default: defaultHashAlgorithm, Description: "Hash algorithm; not used by ed25519"},
		"algorithm":            {Type: framework.TypeString, Default: defaultHashAlgorithm, Description: "Deprecated: use hash_algorithm"},
		"urlalgorithm":         {Type: framework.TypeString, Description: "Hash algorithm (URL parameter)"},
		"prehashed":            {Type: framework.TypeBool, Description: "The input is already hashed"},
		"signature_algorithm":  {Type: framework.TypeString, Description: `RSA: "pss" (default) or "pkcs1v15"`},
		"marshaling_algorithm": {Type: framework.TypeString, Default: "asn1", Description: `ECDSA: "asn1" or "jws"`},
		"salt_length":          {Type: framework.TypeString, Default: "auto", Description: `RSA-PSS: "auto", "hash" or a number`},
		"batch_input":          {Type: framework.TypeSlice, Description: "List of items"},
	}
}

func (b *backend) pathSign() *framework.Path {
	fields := signFields()
	fields["key_version"] = &framework.FieldSchema{Type: framework.TypeInt, Description: "Key version; 0 for latest"}
	return &framework.Path{
		Pattern: "sign/" + framework.GenericNameRegex("name") + framework.OptionalParamRegex("urlalgorithm"),
		Fields:  fields,
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.sign},
		},
		HelpSynopsis: "Generate a signature for input data using the named key.",
	}
}

func (b *backend) pathVerify() *framework.Path {
	fields := signFields()
	fields["signature"] = &framework.FieldSchema{Type: framework.TypeString, Description: "Signature to verify"}
	fields["hmac"] = &framework.FieldSchema{Type: framework.TypeString, Description: "HMAC to verify"}
	return &framework.Path{
		Pattern: "verify/" + framework.GenericNameRegex("name") + framework.OptionalParamRegex("urlalgorithm"),
		Fields:  fields,
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.verify},
		},
		HelpSynopsis: "Verify a signature or HMAC for input data.",
	}
}

// signArgs are the request-wide arguments of sign and verify.
type signArgs struct {
	prehashed bool
	opts      keysutil.SigningOptions
}

func parseSignArgs(d *framework.FieldData) (signArgs, error) {
	name := d.Get("urlalgorithm").(string)
	if name == "" {
		if name = d.Get("hash_algorithm").(string); name == "" {
			if name = d.Get("algorithm").(string); name == "" {
				name = defaultHashAlgorithm
			}
		}
	}
	ht, ok := keysutil.HashTypeMap[name]
	if !ok {
		return signArgs{}, fmt.Errorf("invalid hash algorithm %q", name)
	}
	marshalingName := d.Get("marshaling_algorithm").(string)
	marshaling, ok := keysutil.MarshalingTypeMap[marshalingName]
	if !ok {
		return signArgs{}, fmt.Errorf("invalid marshaling type %q", marshalingName)
	}
	salt, err := saltLength(d.Get("salt_length").(string))
	if err != nil {
		return signArgs{}, err
	}
	return signArgs{prehashed: d.Get("prehashed").(bool), opts: keysutil.SigningOptions{
		HashAlgorithm: ht, Marshaling: marshaling, SaltLength: salt, SigAlgorithm: d.Get("signature_algorithm").(string),
	}}, nil
}

func saltLength(raw string) (int, error) {
	switch s := strings.ToLower(raw); s {
	case "auto":
		return rsa.PSSSaltLengthAuto, nil
	case "hash":
		return rsa.PSSSaltLengthEqualsHash, nil
	default:
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("salt length neither 'auto', 'hash', nor an int: %s", raw)
		}
		if n < rsa.PSSSaltLengthEqualsHash {
			return 0, fmt.Errorf("salt length is invalid: %d", n)
		}
		return n, nil
	}
}

// check applies Vault's key-type rules to the arguments.
func (a signArgs) check(p *keysutil.Policy) error {
	if !p.Type.SigningSupported() {
		return fmt.Errorf("key type %v does not support signing", p.Type)
	}
	if a.opts.HashAlgorithm == keysutil.HashTypeNone && (!a.prehashed || a.opts.SigAlgorithm != "pkcs1v15") {
		return errors.New("hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15")
	}
	return nil
}

// itemInput decodes an item's input and context, hashing the input when
// the key type signs digests.
// Vault words the decode errors of verify differently from sign's.
func (a signArgs) itemInput(p *keysutil.Policy, it batchItem, verify bool) (input, keyContext []byte, err error) {
	if input, err = base64.StdEncoding.DecodeString(it.get("input")); err != nil {
		if verify {
			return nil, nil, fmt.Errorf("failed to parse input: %s", err)
		}
		return nil, nil, fmt.Errorf("unable to decode input: %s", err)
	}
	if p.Type.HashSignatureInput() && !a.prehashed {
		if newHash := keysutil.HashFuncMap[a.opts.HashAlgorithm]; newHash != nil {
			h := newHash()
			h.Write(input)
			input = h.Sum(nil)
		}
	}
	if keyContext, err = base64.StdEncoding.DecodeString(it.get("context")); err != nil {
		if verify {
			return nil, nil, fmt.Errorf("failed to parse context: %s", err)
		}
		return nil, nil, errors.New("failed to base64-decode context")
	}
	if p.Type == keysutil.KeyType_ED25519 {
		switch {
		case a.prehashed:
			err = errors.New("only Pure Ed25519 signatures supported, prehashed must be false")
		case a.opts.HashAlgorithm == keysutil.HashTypeSHA2512:
			err = errors.New("only Pure Ed25519 signatures supported, hash_alogithm should not be set") // sic
		}
		if err != nil {
			return nil, nil, fmt.Errorf("failed to parse batch item: %s", err)
		}
	}
	return input, keyContext, nil
}

// signResult is one element of sign's batch_results.
type signResult struct {
	Signature  string `json:"signature,omitempty"`
	KeyVersion int    `json:"key_version"`
	PublicKey  []byte `json:"publickey,omitempty"`
	Error      string `json:"error,omitempty"`
	Reference  string `json:"reference"`
}

func (b *backend) sign(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	args, err := parseSignArgs(d)
	if err != nil {
		return errorResponse("%s", err.Error())
	}
	ver := d.Get("key_version").(int)
	p, resp, err := b.requirePolicy(ctx, req, d, "signing key not found")
	if p == nil {
		return resp, err
	}
	defer p.Unlock()
	if err := args.check(p); err != nil {
		return errorResponse("%s", err.Error())
	}
	items, single, resp, err := singleOrBatch(d, "", "", "input", "context")
	if resp != nil || err != nil {
		return resp, err
	}
	if single {
		items[0].fields["input"] = d.Get("input").(string)
	}
	results := make([]signResult, len(items))
	var firstErr error // the single item's failure
	for i, it := range items {
		results[i].Reference = it.get("reference")
		input, keyContext, err := args.itemInput(p, it, false)
		if err != nil {
			results[i].Error, firstErr = err.Error(), logical.ErrInvalidRequest
			continue
		}
		sig, err := p.SignWithOptions(ver, keyContext, input, &args.opts)
		switch {
		case err != nil:
			if !single {
				results[i].Error = err.Error()
			}
			firstErr = err
		case sig == nil:
			firstErr = errors.New("signature could not be computed")
		default:
			results[i].Signature, results[i].PublicKey, results[i].KeyVersion = sig.Signature, sig.PublicKey, ver
			if ver == 0 {
				results[i].KeyVersion = p.LatestVersion
			}
		}
	}
	if !single {
		return &logical.Response{Data: map[string]any{"batch_results": results}}, nil
	}
	if results[0].Error != "" {
		return logical.ErrorResponse(results[0].Error), firstErr
	}
	if firstErr != nil {
		return nil, firstErr
	}
	data := map[string]any{"signature": results[0].Signature, "key_version": results[0].KeyVersion}
	if len(results[0].PublicKey) > 0 {
		data["public_key"] = results[0].PublicKey
	}
	return &logical.Response{Data: data}, nil
}

// verifyResult is one element of verify's batch_results for signatures.
type verifyResult struct {
	Valid     bool   `json:"valid"`
	Error     string `json:"error,omitempty"`
	Reference string `json:"reference"`
}

func (b *backend) verify(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	items, single, resp, err := singleOrBatch(d, "", "", "signature", "hmac", "context")
	if resp != nil {
		return resp, err
	}
	if err != nil {
		return errorResponse("%s", err.Error())
	}
	if single {
		items[0].fields["input"] = d.Get("input").(string)
	}
	var sigs, macs, missing bool
	for _, it := range items {
		switch {
		case it.has("signature"):
			sigs = true
		case it.has("hmac"):
			macs = true
		default:
			missing = true
		}
	}
	switch {
	case single && sigs && macs:
		return errorResponse("provide one of 'signature', 'hmac' or 'cmac'")
	case single && !sigs && !macs:
		return errorResponse("missing one of 'signature', 'hmac' or 'cmac' arguments to verify")
	case sigs && macs:
		return errorResponse("elements of batch_input must all provide either 'signature', 'hmac' or 'cmac'")
	case missing && sigs:
		return errorResponse("some elements of batch_input are missing 'signature'")
	case missing && macs:
		return errorResponse("some elements of batch_input are missing 'hmac'")
	case !sigs && !macs:
		return errorResponse("no batch_input elements have 'signature', 'hmac' or 'cmac'")
	case macs:
		return b.verifyHMAC(ctx, req, d, items, single)
	}
	args, err := parseSignArgs(d)
	if err != nil {
		return errorResponse("%s", err.Error())
	}
	p, resp, err := b.requirePolicy(ctx, req, d, "signature verification key not found")
	if p == nil {
		return resp, err
	}
	defer p.Unlock()
	if err := args.check(p); err != nil {
		return errorResponse("%s", err.Error())
	}
	results := make([]verifyResult, len(items))
	var firstErr error
	for i, it := range items {
		results[i].Reference = it.get("reference")
		input, keyContext, err := args.itemInput(p, it, true)
		if err != nil {
			results[i].Error, firstErr = "failed to parse item: "+err.Error(), logical.ErrInvalidRequest
			continue
		}
		valid, err := p.VerifySignatureWithOptions(keyContext, input, it.get("signature"), &args.opts)
		var ue errutil.UserError
		switch {
		case errors.As(err, &ue):
			results[i].Error, firstErr = err.Error(), logical.ErrInvalidRequest
		case err != nil:
			if !single {
				results[i].Error = err.Error()
			}
			firstErr = err
		default:
			results[i].Valid = valid
		}
	}
	if !single {
		return &logical.Response{Data: map[string]any{"batch_results": results}}, nil
	}
	if results[0].Error != "" {
		return logical.ErrorResponse(results[0].Error), firstErr
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return &logical.Response{Data: map[string]any{"valid": results[0].Valid}}, nil
}
