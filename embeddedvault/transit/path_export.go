package transit

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/keysutil"
	"github.com/hashicorp/vault/sdk/logical"
)

// Export types.
const (
	exportEncryptionKey = "encryption-key"
	exportSigningKey    = "signing-key"
	exportHMACKey       = "hmac-key"
	exportPublicKey     = "public-key"
)

func (b *backend) pathExport() *framework.Path {
	return &framework.Path{
		Pattern: "export/" + framework.GenericNameRegex("type") + "/" + framework.GenericNameRegex("name") + framework.OptionalParamRegex("version"),
		Fields: map[string]*framework.FieldSchema{
			"type":    {Type: framework.TypeString, Description: "encryption-key, signing-key, hmac-key or public-key"},
			"name":    {Type: framework.TypeString, Description: "Name of the key"},
			"version": {Type: framework.TypeString, Description: `Version to export: a number, "v<N>" or "latest"; all when empty`},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: &framework.PathOperation{Callback: b.exportKey},
		},
		HelpSynopsis: "Export named encryption or signing key.",
	}
}

func (b *backend) exportKey(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	exportType := d.Get("type").(string)
	switch exportType {
	case exportEncryptionKey, exportSigningKey, exportHMACKey, exportPublicKey:
	default:
		return errorResponse("invalid export type: %s", exportType)
	}
	p, err := b.readPolicy(ctx, req.Storage, d.Get("name").(string))
	if err != nil || p == nil {
		return nil, err
	}
	defer p.Unlock()
	if !p.Exportable && exportType != exportPublicKey {
		return logical.ErrorResponse("private key material is not exportable"), nil
	}
	switch {
	case exportType == exportEncryptionKey && !p.Type.EncryptionSupported():
		return errorResponse("encryption not supported for the key")
	case exportType == exportSigningKey && !p.Type.SigningSupported():
		return errorResponse("signing not supported for the key")
	}
	keys := map[string]string{}
	version := d.Get("version").(string)
	if version == "" {
		for v, k := range p.Keys {
			if keys[v], err = exportMaterial(p, &k, exportType); err != nil {
				return nil, err
			}
		}
	} else {
		n := p.LatestVersion
		if version != "latest" {
			if n, err = strconv.Atoi(strings.TrimPrefix(version, "v")); err != nil {
				return errorResponse("invalid key version")
			}
		}
		if n < p.MinDecryptionVersion {
			return errorResponse("version for export is below minimum decryption version")
		}
		k, ok := p.Keys[strconv.Itoa(n)]
		if !ok {
			return errorResponse("version does not exist or cannot be found")
		}
		if keys[strconv.Itoa(n)], err = exportMaterial(p, &k, exportType); err != nil {
			return nil, err
		}
	}
	return &logical.Response{Data: map[string]any{"name": p.Name, "type": p.Type.String(), "keys": keys}}, nil
}

// exportMaterial encodes one key version as Vault's export does: raw keys
// in base64, RSA private keys as PKCS#1 PEM, EC private keys as SEC1 PEM,
// public keys as PKIX PEM (ed25519: base64).
func exportMaterial(p *keysutil.Policy, k *keysutil.KeyEntry, exportType string) (string, error) {
	ec := p.Type == keysutil.KeyType_ECDSA_P256 || p.Type == keysutil.KeyType_ECDSA_P384 || p.Type == keysutil.KeyType_ECDSA_P521
	switch exportType {
	case exportHMACKey:
		src := k.HMACKey
		if p.Type == keysutil.KeyType_HMAC {
			src = k.Key
		}
		return base64.StdEncoding.EncodeToString(src), nil
	case exportEncryptionKey:
		if isRSA(p.Type) {
			return rsaPrivatePEM(k), nil
		}
		return base64.StdEncoding.EncodeToString(k.Key), nil
	case exportSigningKey:
		switch {
		case ec:
			return ecPrivatePEM(p, k)
		case p.Type == keysutil.KeyType_ED25519:
			return base64.StdEncoding.EncodeToString(k.Key), nil
		case isRSA(p.Type):
			return rsaPrivatePEM(k), nil
		}
	case exportPublicKey:
		switch {
		case ec:
			pub, err := ecPublicKey(p, k)
			if err != nil {
				return "", err
			}
			der, err := x509.MarshalPKIXPublicKey(pub)
			if err != nil {
				return "", err
			}
			return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))), nil
		case p.Type == keysutil.KeyType_ED25519:
			return strings.TrimSpace(k.FormattedPublicKey), nil
		case isRSA(p.Type):
			return rsaPublicPEM(k)
		}
	}
	return "", fmt.Errorf("unknown key type %v for export type %v", p.Type, exportType)
}

func rsaPrivatePEM(k *keysutil.KeyEntry) string {
	if k.RSAKey == nil {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.RSAKey)}))
}

func ecPrivatePEM(p *keysutil.Policy, k *keysutil.KeyEntry) (string, error) {
	if k.EC_D == nil {
		return "", nil
	}
	curve := ecCurve(p.Type)
	priv, err := ecdsa.ParseRawPrivateKey(curve, k.EC_D.FillBytes(make([]byte, (curve.Params().BitSize+7)/8)))
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return "", errors.Join(errors.New("encoding EC private key"), err)
	}
	return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))), nil
}
