package appliance

import (
	"context"
	"fmt"

	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/kescore"
)

// kesConfig builds the key server's configuration. Without a config file: keys in the
// embedded vault under the KV v1 mount kes/ (kmsbox enables it), an admin identity made once
// in <data-dir>/certs/admin.{crt,key}, and with --dev the guide's step 4 done already: the
// MinIO identity, its policy and the default key.
func (a *Appliance) kesConfig(ctx context.Context, g *generation, vault *embeddedvault.Server) (kescore.Config, error) {
	adminCert, adminKey, adminID, err := a.certs.ClientIdentity(adminIdentityName)
	if err != nil {
		return kescore.Config{}, fmt.Errorf("kes: admin identity: %w", err)
	}
	a.adminID = adminID
	a.log.Info("kes admin identity", "identity", adminID, "cert", adminCert, "key", adminKey)
	a.keys = keyStoreInfo{where: "embedded vault, KV v1 " + kesDefaultMount + "/", mount: kesDefaultMount + "/"}
	kcfg := kescore.Config{
		Store:    &vaultKeyStore{vault: vault, mount: kesDefaultMount, manage: true},
		Admin:    adminID,
		Policies: map[string]kescore.Policy{},
		Logger:   a.cfg.Logger.With("server", "kes"),
		Version:  a.cfg.Version,
	}
	if a.cfg.Dev {
		_, _, minioID, err := a.certs.ClientIdentity(minioIdentityName)
		if err != nil {
			return kescore.Config{}, fmt.Errorf("kes: MinIO identity: %w", err)
		}
		a.minioID = minioID
		kcfg.Policies[devPolicyName] = kescore.Policy{
			Allow: []string{
				"/v1/key/create/minio-*",
				"/v1/key/generate/minio-*",
				"/v1/key/decrypt/minio-*",
			},
			Identities: []string{minioID},
		}
		key := a.cfg.S3.KeyName
		if a.cfg.KMS.StaticKey != "" || key == "" {
			key = defaultKeyName // the S3 side uses the static key; KES still gets the guide's key
		}
		a.devKey = key // made by bootstrap
	}
	if a.cfg.KESConfig != nil {
		if err := a.applyKESConfig(ctx, g, &kcfg, vault); err != nil {
			return kescore.Config{}, err
		}
	}
	return kcfg, nil
}
