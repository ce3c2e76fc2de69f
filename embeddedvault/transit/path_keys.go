package transit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/keysutil"
	"github.com/hashicorp/vault/sdk/logical"
)

func (b *backend) pathListKeys() *framework.Path {
	return &framework.Path{
		Pattern: "keys/?$",
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ListOperation: &framework.PathOperation{Callback: b.listKeys},
		},
		HelpSynopsis: "List the names of the keys.",
	}
}

func (b *backend) pathKeys() *framework.Path {
	return &framework.Path{
		Pattern: "keys/" + framework.GenericNameRegex("name"),
		Fields: map[string]*framework.FieldSchema{
			"name":                   {Type: framework.TypeString, Description: "Name of the key"},
			"type":                   {Type: framework.TypeString, Default: "aes256-gcm96", Description: "Type of key to create"},
			"derived":                {Type: framework.TypeBool, Description: "Enables key derivation; encrypt/decrypt then need a context"},
			"convergent_encryption":  {Type: framework.TypeBool, Description: "Same plaintext and context give the same ciphertext; needs derived"},
			"exportable":             {Type: framework.TypeBool, Description: "Allow export of the key material"},
			"allow_plaintext_backup": {Type: framework.TypeBool, Description: "Allow backup of the key in plaintext"},
			"context":                {Type: framework.TypeString, Description: "Base64 context for reading a derived ed25519 public key"},
			"auto_rotate_period":     {Type: framework.TypeDurationSecond, Default: 0, Description: "Rotate automatically after this long; 0 disables, else at least 1h"},
			"key_size": {Type: framework.TypeInt, Default: 0,
				Description: fmt.Sprintf("Key size in bytes for hmac keys, %d to %d", keysutil.HmacMinKeySize, keysutil.HmacMaxKeySize)},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.createKey},
			logical.ReadOperation:   &framework.PathOperation{Callback: b.readKey},
			logical.DeleteOperation: &framework.PathOperation{Callback: b.deleteKey},
		},
		HelpSynopsis: "Manage named encryption keys.",
	}
}

func (b *backend) listKeys(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	names, err := req.Storage.List(ctx, policyPrefix)
	if err != nil {
		return nil, err
	}
	return logical.ListResponse(names), nil
}

// validRotatePeriod is Vault's rule: 0 disables, otherwise at least an hour.
func validRotatePeriod(d time.Duration) bool { return d == 0 || d >= time.Hour }

func (b *backend) createKey(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	derived := d.Get("derived").(bool)
	convergent := d.Get("convergent_encryption").(bool)
	period := time.Duration(d.Get("auto_rotate_period").(int)) * time.Second
	if !validRotatePeriod(period) {
		return logical.ErrorResponse("auto rotate period must be 0 to disable or at least an hour"), nil
	}
	if convergent && !derived {
		return logical.ErrorResponse("convergent encryption requires derivation to be enabled"), nil
	}
	typ := d.Get("type").(string)
	kt, ok := parseKeyType(typ)
	if !ok {
		return errorResponse("unknown key type %v", typ)
	}
	polReq := keysutil.PolicyRequest{
		Upsert: true, Storage: req.Storage, Name: name, KeyType: kt,
		Derived: derived, Convergent: convergent,
		Exportable:           d.Get("exportable").(bool),
		AllowPlaintextBackup: d.Get("allow_plaintext_backup").(bool),
		AutoRotatePeriod:     period,
	}
	if size := d.Get("key_size").(int); size != 0 {
		if kt != keysutil.KeyType_HMAC {
			return errorResponse("key_size is not valid for algorithm %v", kt)
		}
		if size < keysutil.HmacMinKeySize || size > keysutil.HmacMaxKeySize {
			return errorResponse("invalid key_size %d", size)
		}
		polReq.KeySize = size
	}
	p, upserted, err := b.policy(ctx, polReq, true)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("error generating key: returned policy was nil")
	}
	defer p.Unlock()
	resp, err := formatKey(p, nil)
	if err != nil {
		return nil, err
	}
	if !upserted {
		resp.AddWarning(fmt.Sprintf("key %s already existed", name))
	}
	return resp, nil
}

func (b *backend) readKey(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	p, err := b.readPolicy(ctx, req.Storage, d.Get("name").(string))
	if err != nil || p == nil {
		return nil, err
	}
	defer p.Unlock()
	var keyContext []byte
	if raw := d.Get("context").(string); raw != "" {
		if keyContext, err = base64.StdEncoding.DecodeString(raw); err != nil {
			return errorResponse("failed to base64-decode context")
		}
	}
	return formatKey(p, keyContext)
}

func (b *backend) deleteKey(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.Get("name").(string)
	if err := b.lm.DeletePolicy(ctx, req.Storage, name); err != nil {
		return logical.ErrorResponse("error deleting policy %s: %s", name, err), err
	}
	return nil, nil
}

// formatKey is Vault's read-key response. Symmetric keys list the unix
// creation time of each version; asymmetric ones a map with name,
// public_key, certificate_chain and creation_time; hmac keys no "keys".
func formatKey(p *keysutil.Policy, keyContext []byte) (*logical.Response, error) {
	data := map[string]any{
		"name":                   p.Name,
		"type":                   p.Type.String(),
		"derived":                p.Derived,
		"deletion_allowed":       p.DeletionAllowed,
		"min_available_version":  p.MinAvailableVersion,
		"min_decryption_version": p.MinDecryptionVersion,
		"min_encryption_version": p.MinEncryptionVersion,
		"latest_version":         p.LatestVersion,
		"exportable":             p.Exportable,
		"allow_plaintext_backup": p.AllowPlaintextBackup,
		"supports_encryption":    p.Type.EncryptionSupported(),
		"supports_decryption":    p.Type.DecryptionSupported(),
		"supports_signing":       p.Type.SigningSupported(),
		"supports_derivation":    p.Type.DerivationSupported(),
		"auto_rotate_period":     int64(p.AutoRotatePeriod.Seconds()),
		"imported_key":           p.Imported,
	}
	if p.KeySize != 0 {
		data["key_size"] = p.KeySize
	}
	if p.Imported {
		data["imported_key_allow_rotation"] = p.AllowImportedKeyRotation
	}
	if p.BackupInfo != nil {
		data["backup_info"] = map[string]any{"time": p.BackupInfo.Time, "version": p.BackupInfo.Version}
	}
	if p.RestoreInfo != nil {
		data["restore_info"] = map[string]any{"time": p.RestoreInfo.Time, "version": p.RestoreInfo.Version}
	}
	if p.Derived {
		switch p.KDF {
		case keysutil.Kdf_hmac_sha256_counter:
			data["kdf"] = "hmac-sha256-counter"
			data["kdf_mode"] = "hmac-sha256-counter"
		case keysutil.Kdf_hkdf_sha256:
			data["kdf"] = "hkdf_sha256"
		}
		data["convergent_encryption"] = p.ConvergentEncryption
		if p.ConvergentEncryption {
			data["convergent_encryption_version"] = p.ConvergentVersion
		}
	}
	switch {
	case p.Type.EncryptionSupported() && !isRSA(p.Type):
		times := map[string]int64{}
		for v, k := range p.Keys {
			times[v] = k.DeprecatedCreationTime
		}
		data["keys"] = times
	case p.Type.SigningSupported():
		keys := map[string]map[string]any{}
		for v, k := range p.Keys {
			entry, err := publicKeyEntry(p, v, &k, keyContext)
			if err != nil {
				return nil, err
			}
			keys[v] = entry
		}
		data["keys"] = keys
	}
	return &logical.Response{Data: data}, nil
}

func isRSA(t keysutil.KeyType) bool {
	return t == keysutil.KeyType_RSA2048 || t == keysutil.KeyType_RSA3072 || t == keysutil.KeyType_RSA4096
}

// publicKeyEntry is one version of an asymmetric key in the read response.
func publicKeyEntry(p *keysutil.Policy, version string, k *keysutil.KeyEntry, keyContext []byte) (map[string]any, error) {
	created := k.CreationTime
	if created.IsZero() {
		created = time.Unix(k.DeprecatedCreationTime, 0)
	}
	name, pub := "", k.FormattedPublicKey
	switch p.Type {
	case keysutil.KeyType_ECDSA_P256:
		name = elliptic.P256().Params().Name
	case keysutil.KeyType_ECDSA_P384:
		name = elliptic.P384().Params().Name
	case keysutil.KeyType_ECDSA_P521:
		name = elliptic.P521().Params().Name
	case keysutil.KeyType_ED25519:
		name = "ed25519"
		if p.Derived {
			pub = ""
			if len(keyContext) > 0 {
				ver, err := strconv.Atoi(version)
				if err != nil {
					return nil, fmt.Errorf("invalid version %q: %w", version, err)
				}
				seed, err := p.GetKey(keyContext, ver, 32)
				if err != nil {
					return nil, fmt.Errorf("failed to derive key to return public component: %w", err)
				}
				pub = base64.StdEncoding.EncodeToString(ed25519.PrivateKey(seed).Public().(ed25519.PublicKey))
			}
		}
	default: // RSA
		name = p.Type.String()
		var err error
		if pub, err = rsaPublicPEM(k); err != nil {
			return nil, err
		}
	}
	return map[string]any{"name": name, "public_key": pub, "certificate_chain": "", "creation_time": created, "hybrid_public_key": ""}, nil
}

// rsaPublicPEM encodes the public half of an RSA key version as a PKIX PEM.
func rsaPublicPEM(k *keysutil.KeyEntry) (string, error) {
	var pub any
	switch {
	case k.RSAKey != nil:
		pub = k.RSAKey.Public()
	case k.RSAPublicKey != nil:
		pub = k.RSAPublicKey
	default:
		return "", errors.New("requested to encode an RSA public key with no RSA key present")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("error marshaling RSA public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ecCurve is the curve of an ECDSA key type.
func ecCurve(t keysutil.KeyType) elliptic.Curve {
	switch t {
	case keysutil.KeyType_ECDSA_P384:
		return elliptic.P384()
	case keysutil.KeyType_ECDSA_P521:
		return elliptic.P521()
	}
	return elliptic.P256()
}

// ecPublicKey rebuilds the ECDSA public key of a version from keysutil's
// stored coordinates.
func ecPublicKey(p *keysutil.Policy, k *keysutil.KeyEntry) (*ecdsa.PublicKey, error) {
	curve := ecCurve(p.Type)
	if k.EC_X == nil || k.EC_Y == nil {
		return nil, errors.New("key version has no EC public key")
	}
	size := (curve.Params().BitSize + 7) / 8
	point := append([]byte{4}, k.EC_X.FillBytes(make([]byte, size))...)
	return ecdsa.ParseUncompressedPublicKey(curve, append(point, k.EC_Y.FillBytes(make([]byte, size))...))
}
