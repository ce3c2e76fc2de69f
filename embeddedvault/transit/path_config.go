package transit

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/keysutil"
	"github.com/hashicorp/vault/sdk/logical"
)

func (b *backend) pathKeysConfig() *framework.Path {
	return &framework.Path{
		Pattern: "keys/" + framework.GenericNameRegex("name") + "/config",
		Fields: map[string]*framework.FieldSchema{
			"name":                   {Type: framework.TypeString, Description: "Name of the key"},
			"min_decryption_version": {Type: framework.TypeInt, Description: "Oldest version allowed to decrypt or verify"},
			"min_encryption_version": {Type: framework.TypeInt, Description: "Oldest version allowed to encrypt or sign; 0 means latest only"},
			"deletion_allowed":       {Type: framework.TypeBool, Description: "Whether the key may be deleted"},
			"exportable":             {Type: framework.TypeBool, Description: "Enables export; cannot be disabled again"},
			"allow_plaintext_backup": {Type: framework.TypeBool, Description: "Enables plaintext backup; cannot be disabled again"},
			"auto_rotate_period":     {Type: framework.TypeDurationSecond, Description: "Rotate automatically after this long; 0 disables"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.configureKey},
		},
		HelpSynopsis: "Configure a named encryption key.",
	}
}

// configureKey changes the key's settings; on any refusal the policy in
// the cache keeps its previous values.
func (b *backend) configureKey(ctx context.Context, req *logical.Request, d *framework.FieldData) (resp *logical.Response, retErr error) {
	name := d.Get("name").(string)
	p, _, err := b.policy(ctx, keysutil.PolicyRequest{Storage: req.Storage, Name: name}, true)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return errorResponse("no existing key named %s could be found", name)
	}
	defer p.Unlock()

	saved := settingsOf(p)
	defer func() {
		if retErr != nil || (resp != nil && resp.IsError()) {
			saved.restore(p)
		}
	}()

	var warning string
	persist := false
	if raw, ok := d.GetOk("min_decryption_version"); ok {
		v := raw.(int)
		if v < 0 {
			return logical.ErrorResponse("min decryption version cannot be negative"), nil
		}
		if v == 0 {
			v = 1
			warning = "since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1"
		}
		if v != p.MinDecryptionVersion {
			if v > p.LatestVersion {
				return logical.ErrorResponse("cannot set min decryption version of %d, latest key version is %d", v, p.LatestVersion), nil
			}
			p.MinDecryptionVersion, persist = v, true
		}
	}
	if raw, ok := d.GetOk("min_encryption_version"); ok {
		v := raw.(int)
		if v < 0 {
			return logical.ErrorResponse("min encryption version cannot be negative"), nil
		}
		if v != p.MinEncryptionVersion {
			if v > p.LatestVersion {
				return logical.ErrorResponse("cannot set min encryption version of %d, latest key version is %d", v, p.LatestVersion), nil
			}
			p.MinEncryptionVersion, persist = v, true
		}
	}
	if p.MinEncryptionVersion > 0 && p.MinEncryptionVersion < p.MinDecryptionVersion {
		return logical.ErrorResponse("cannot set min encryption/decryption values; min encryption version of %d must be greater than or equal to min decryption version of %d",
			p.MinEncryptionVersion, p.MinDecryptionVersion), nil
	}
	if raw, ok := d.GetOk("deletion_allowed"); ok && raw.(bool) != p.DeletionAllowed {
		p.DeletionAllowed, persist = raw.(bool), true
	}
	if p.MinDecryptionVersion == 0 {
		p.MinDecryptionVersion, persist = 1, true
	}
	// exportable and allow_plaintext_backup are one-way switches.
	if raw, ok := d.GetOk("exportable"); ok && raw.(bool) && !p.Exportable {
		p.Exportable, persist = true, true
	}
	if raw, ok := d.GetOk("allow_plaintext_backup"); ok && raw.(bool) && !p.AllowPlaintextBackup {
		p.AllowPlaintextBackup, persist = true, true
	}
	raw, ok, err := d.GetOkErr("auto_rotate_period")
	if err != nil {
		return nil, err
	}
	if ok {
		period := time.Duration(raw.(int)) * time.Second
		if !validRotatePeriod(period) {
			return logical.ErrorResponse("auto rotate period must be 0 to disable or at least an hour"), nil
		}
		if period != p.AutoRotatePeriod {
			p.AutoRotatePeriod, persist = period, true
		}
	}
	if persist {
		switch {
		case p.MinAvailableVersion > p.MinEncryptionVersion:
			return logical.ErrorResponse("min encryption version should not be less than min available version"), nil
		case p.MinAvailableVersion > p.MinDecryptionVersion:
			return logical.ErrorResponse("min decryption version should not be less then min available version"), nil
		}
		if err := p.Persist(ctx, req.Storage); err != nil {
			return nil, err
		}
	}
	if resp, err = formatKey(p, nil); err != nil {
		return nil, err
	}
	if warning != "" {
		resp.AddWarning(warning)
	}
	return resp, nil
}

// keySettings are the fields of a policy that keys/:name/config changes.
type keySettings struct {
	minDecryption, minEncryption             int
	deletionAllowed, exportable, plainBackup bool
	autoRotate                               time.Duration
}

func settingsOf(p *keysutil.Policy) keySettings {
	return keySettings{p.MinDecryptionVersion, p.MinEncryptionVersion, p.DeletionAllowed,
		p.Exportable, p.AllowPlaintextBackup, p.AutoRotatePeriod}
}

func (s keySettings) restore(p *keysutil.Policy) {
	p.MinDecryptionVersion, p.MinEncryptionVersion = s.minDecryption, s.minEncryption
	p.DeletionAllowed, p.Exportable, p.AllowPlaintextBackup = s.deletionAllowed, s.exportable, s.plainBackup
	p.AutoRotatePeriod = s.autoRotate
}

func (b *backend) pathConfigKeys() *framework.Path {
	return &framework.Path{
		Pattern: "config/keys",
		Fields: map[string]*framework.FieldSchema{
			"disable_upsert": {Type: framework.TypeBool, Description: "Whether encrypt may no longer create missing keys"},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: &framework.PathOperation{Callback: b.writeKeysConfig},
			logical.ReadOperation:   &framework.PathOperation{Callback: b.readKeysConfig},
		},
		HelpSynopsis: "Configuration common across all keys.",
	}
}

// keysConfig is the mount-wide key configuration (config/keys).
type keysConfig struct {
	DisableUpsert bool `json:"disable_upsert"`
}

func loadKeysConfig(ctx context.Context, s logical.Storage) (keysConfig, error) {
	var c keysConfig
	entry, err := s.Get(ctx, keysConfigPath)
	if err != nil {
		return c, fmt.Errorf("failed to fetch keys configuration: %w", err)
	}
	if entry != nil {
		if err := entry.DecodeJSON(&c); err != nil {
			return c, fmt.Errorf("failed to decode keys configuration: %w", err)
		}
	}
	return c, nil
}

func (b *backend) readKeysConfig(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	c, err := loadKeysConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"disable_upsert": c.DisableUpsert}}, nil
}

func (b *backend) writeKeysConfig(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	c, err := loadKeysConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if v := d.Get("disable_upsert").(bool); v != c.DisableUpsert {
		c.DisableUpsert = v
		entry, err := logical.StorageEntryJSON(keysConfigPath, c)
		if err != nil {
			return nil, err
		}
		if err := req.Storage.Put(ctx, entry); err != nil {
			return nil, err
		}
	}
	return &logical.Response{Data: map[string]any{"disable_upsert": c.DisableUpsert}}, nil
}
