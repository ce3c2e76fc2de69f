package transit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strconv"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// maxRandomBytes is Vault's limit on one random request (128 KiB).
const maxRandomBytes = 128 * 1024

func (b *backend) pathRandom() *framework.Path {
	return &framework.Path{
		Pattern: "random(/" + framework.GenericNameRegex("source") + ")?" + framework.OptionalParamRegex("urlbytes"),
		Fields: map[string]*framework.FieldSchema{
			"urlbytes": {Type: framework.TypeString, Description: "Number of bytes (URL parameter)"},
			"bytes":    {Type: framework.TypeInt, Default: 32, Description: "Number of bytes; default 32"},
			"format":   {Type: framework.TypeString, Default: "base64", Description: `"base64" or "hex"`},
			"source":   {Type: framework.TypeString, Default: "platform", Description: `"platform", "seal" or "all"`},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.random},
		},
		HelpSynopsis: "Generate random bytes.",
	}
}

// random follows Vault's parsing of random[/:source][/:bytes]: a single
// path segment is a source if it names one, else a byte count. kmsbox has
// no seal entropy, so "seal" and "all" use the platform source.
func (b *backend) random(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	source, _ := d.Raw["source"].(string)
	urlBytes, _ := d.Raw["urlbytes"].(string)
	n := d.Get("bytes").(int)
	var err error
	switch {
	case source == "":
	case urlBytes == "" && validSource(source):
	case urlBytes == "":
		if n, err = strconv.Atoi(source); err != nil {
			return logical.ErrorResponse("error parsing url-set byte count: %s", err), nil
		}
		source = ""
	default:
		if n, err = strconv.Atoi(urlBytes); err != nil {
			return logical.ErrorResponse("error parsing url-set byte count: %s", err), nil
		}
	}
	format := d.Get("format").(string)
	switch {
	case n < 1:
		return logical.ErrorResponse(`"bytes" cannot be less than 1`), nil
	case n > maxRandomBytes:
		return logical.ErrorResponse(`"bytes" should be less than %d`, maxRandomBytes), nil
	case format != "hex" && format != "base64":
		return logical.ErrorResponse("unsupported encoding format %q; must be \"hex\" or \"base64\"", format), nil
	case !validSource(source):
		return logical.ErrorResponse("unsupported entropy source %q; must be \"platform\" or \"seal\", or \"all\"", source), nil
	}
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	out := base64.StdEncoding.EncodeToString(buf)
	if format == "hex" {
		out = hex.EncodeToString(buf)
	}
	resp := &logical.Response{Data: map[string]any{"random_bytes": out}}
	if source == "seal" {
		resp.AddWarning("no seal/entropy augmentation available, using platform entropy source")
	}
	return resp, nil
}

func validSource(s string) bool {
	switch s {
	case "", "platform", "seal", "all":
		return true
	}
	return false
}
