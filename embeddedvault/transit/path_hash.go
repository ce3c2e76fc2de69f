package transit

import (
	"context"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

func (b *backend) pathHash() *framework.Path {
	return &framework.Path{
		Pattern: "hash" + framework.OptionalParamRegex("urlalgorithm"),
		Fields: map[string]*framework.FieldSchema{
			"input":        {Type: framework.TypeString, Description: "Base64 input"},
			"algorithm":    {Type: framework.TypeString, Default: "sha2-256", Description: "sha2-224/256/384/512 or sha3-224/256/384/512"},
			"urlalgorithm": {Type: framework.TypeString, Description: "Algorithm (URL parameter)"},
			"format":       {Type: framework.TypeString, Default: "hex", Description: `"hex" or "base64"`},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.hash},
		},
		HelpSynopsis: "Generate a hash sum for input data.",
	}
}

// hashFunc returns the hash endpoint's algorithms (no sha1, no none).
func hashFunc(name string) func() hash.Hash {
	switch name {
	case "sha2-224":
		return sha256.New224
	case "sha2-256":
		return sha256.New
	case "sha2-384":
		return sha512.New384
	case "sha2-512":
		return sha512.New
	case "sha3-224":
		return func() hash.Hash { return sha3.New224() }
	case "sha3-256":
		return func() hash.Hash { return sha3.New256() }
	case "sha3-384":
		return func() hash.Hash { return sha3.New384() }
	case "sha3-512":
		return func() hash.Hash { return sha3.New512() }
	}
	return nil
}

func (b *backend) hash(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	raw, ok, err := d.GetOkErr("input")
	if err != nil {
		return nil, err
	}
	if !ok {
		return errorResponse("input missing")
	}
	algorithm := d.Get("urlalgorithm").(string)
	if algorithm == "" {
		algorithm = d.Get("algorithm").(string)
	}
	input, err := base64.StdEncoding.DecodeString(raw.(string))
	if err != nil {
		return errorResponse("unable to decode input as base64: %s", err)
	}
	format := d.Get("format").(string)
	if format != "hex" && format != "base64" {
		return logical.ErrorResponse("unsupported encoding format %s; must be \"hex\" or \"base64\"", format), nil
	}
	newHash := hashFunc(algorithm)
	if newHash == nil {
		return logical.ErrorResponse("unsupported algorithm %s", algorithm), nil
	}
	h := newHash()
	h.Write(input)
	sum := h.Sum(nil)
	out := hex.EncodeToString(sum)
	if format == "base64" {
		out = base64.StdEncoding.EncodeToString(sum)
	}
	return &logical.Response{Data: map[string]any{"sum": out}}, nil
}
