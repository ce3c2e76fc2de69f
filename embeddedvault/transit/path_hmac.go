package transit

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/keysutil"
	"github.com/hashicorp/vault/sdk/logical"
)

func (b *backend) pathHMAC() *framework.Path {
	return &framework.Path{
		Pattern: "hmac/" + framework.GenericNameRegex("name") + framework.OptionalParamRegex("urlalgorithm"),
		Fields: map[string]*framework.FieldSchema{
			"name":         {Type: framework.TypeString, Description: "The key to use for the HMAC function"},
			"input":        {Type: framework.TypeString, Description: "Base64 input"},
			"algorithm":    {Type: framework.TypeString, Default: "sha2-256", Description: "Hash algorithm"},
			"urlalgorithm": {Type: framework.TypeString, Description: "Hash algorithm (URL parameter)"},
			"key_version":  {Type: framework.TypeInt, Description: "Key version; 0 for latest"},
			"batch_input":  {Type: framework.TypeSlice, Description: "List of items to HMAC"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.hmac},
		},
		HelpSynopsis: "Generate an HMAC for input data using the named key.",
	}
}

// hmacResult is one element of the hmac and hmac-verify batch_results.
type hmacResult struct {
	HMAC      string `json:"hmac,omitempty"`
	Valid     bool   `json:"valid"`
	Error     string `json:"error,omitempty"`
	Reference string `json:"reference"`
}

// hmacHash resolves a hash name as Vault does for HMACs. Vault's message
// formats the failed lookup's zero HashType with %q, which prints '\x00';
// "none" (which would panic in Vault) gets the same answer here.
func hmacHash(name string) (keysutil.HashType, *logical.Response) {
	ht, ok := keysutil.HashTypeMap[name]
	if !ok || ht == keysutil.HashTypeNone {
		return 0, logical.ErrorResponse("unsupported algorithm %q", keysutil.HashType(0))
	}
	return ht, nil
}

func (b *backend) hmac(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	ver := d.Get("key_version").(int)
	algorithm := d.Get("urlalgorithm").(string)
	if algorithm == "" {
		algorithm = d.Get("algorithm").(string)
	}
	p, resp, err := b.requirePolicy(ctx, req, d, "encryption key not found")
	if p == nil {
		return resp, err
	}
	defer p.Unlock()
	switch {
	case ver == 0:
		ver = p.LatestVersion
	case ver == p.LatestVersion:
	case p.MinEncryptionVersion > 0 && ver < p.MinEncryptionVersion:
		return errorResponse("cannot generate HMAC: version is too old (disallowed by policy)")
	}
	key, err := p.HMACKey(ver)
	if err != nil {
		return errorResponse("%s", err.Error())
	}
	if key == nil {
		return nil, errors.New("HMAC key value could not be computed")
	}
	ht, bad := hmacHash(algorithm)
	if bad != nil {
		return bad, nil
	}
	items, single, resp, err := singleOrBatch(d, "", "", "input")
	if resp != nil || err != nil {
		return resp, err
	}
	if single && !items[0].has("input") {
		return errorResponse("missing input for HMAC")
	}
	results := make([]hmacResult, len(items))
	for i, it := range items {
		results[i].Reference = it.get("reference")
		if !it.has("input") {
			results[i].Error = "missing input for HMAC"
			continue
		}
		input, err := base64.StdEncoding.DecodeString(it.get("input"))
		if err != nil {
			results[i].Error = fmt.Sprintf("unable to decode input as base64: %s", err)
			continue
		}
		mac := hmac.New(keysutil.HashFuncMap[ht], key)
		mac.Write(input)
		results[i].HMAC = "vault:v" + strconv.Itoa(ver) + ":" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	if !single {
		return &logical.Response{Data: map[string]any{"batch_results": results}}, nil
	}
	if results[0].Error != "" {
		return errorResponse("%s", results[0].Error)
	}
	return &logical.Response{Data: map[string]any{"hmac": results[0].HMAC}}, nil
}

// verifyHMAC is verify/:name for items that carry "hmac".
func (b *backend) verifyHMAC(ctx context.Context, req *logical.Request, d *framework.FieldData, items []batchItem, single bool) (*logical.Response, error) {
	algorithm := d.Get("urlalgorithm").(string)
	if algorithm == "" {
		algorithm = d.Get("hash_algorithm").(string)
		if _, ok := d.GetOk("hash_algorithm"); !ok {
			if a, ok := d.GetOk("algorithm"); ok {
				algorithm = a.(string)
			}
		}
	}
	p, resp, err := b.requirePolicy(ctx, req, d, "encryption key not found")
	if p == nil {
		return resp, err
	}
	defer p.Unlock()
	ht, bad := hmacHash(algorithm)
	if bad != nil {
		return bad, nil
	}
	results := make([]hmacResult, len(items))
	for i, it := range items {
		results[i].Reference = it.get("reference")
		valid, msg, err := verifyOneHMAC(p, ht, it)
		if err != nil {
			return nil, err
		}
		results[i].Valid, results[i].Error = valid, msg
	}
	if !single {
		return &logical.Response{Data: map[string]any{"batch_results": results}}, nil
	}
	if results[0].Error != "" {
		return errorResponse("%s", results[0].Error)
	}
	return &logical.Response{Data: map[string]any{"valid": results[0].Valid}}, nil
}

// verifyOneHMAC checks a "vault:v<N>:<base64>" HMAC; msg is the item's
// user error, err a server-side failure.
func verifyOneHMAC(p *keysutil.Policy, ht keysutil.HashType, it batchItem) (valid bool, msg string, err error) {
	if !it.has("input") {
		return false, "missing input", nil
	}
	input, err := base64.StdEncoding.DecodeString(it.get("input"))
	if err != nil {
		return false, fmt.Sprintf("unable to decode input as base64: %s", err), nil
	}
	if !it.has("hmac") {
		return false, "missing hmac", nil
	}
	rest, ok := strings.CutPrefix(it.get("hmac"), "vault:v")
	if !ok {
		return false, "invalid HMAC to verify: no prefix", nil
	}
	verStr, macB64, ok := strings.Cut(rest, ":")
	if !ok {
		return false, "invalid HMAC: wrong number of fields", nil
	}
	ver, err := strconv.Atoi(verStr)
	if err != nil {
		return false, "invalid HMAC: version number could not be decoded", nil
	}
	want, err := base64.StdEncoding.DecodeString(macB64)
	if err != nil {
		return false, fmt.Sprintf("unable to decode verification HMAC as base64: %s", err), nil
	}
	if ver > p.LatestVersion {
		return false, "invalid HMAC: version is too new", nil
	}
	if p.MinDecryptionVersion > 0 && ver < p.MinDecryptionVersion {
		return false, "cannot verify HMAC: version is too old (disallowed by policy)", nil
	}
	key, err := p.HMACKey(ver)
	if err != nil {
		return false, err.Error(), nil
	}
	if key == nil {
		return false, "", errors.New("HMAC key value could not be computed")
	}
	mac := hmac.New(keysutil.HashFuncMap[ht], key)
	mac.Write(input)
	return hmac.Equal(mac.Sum(nil), want), "", nil
}
