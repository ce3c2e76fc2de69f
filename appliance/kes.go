package appliance

import (
	"context"
	"fmt"
	"os"

	"github.com/kmsbox/kmsbox/certs"
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
	if err := a.seedKESPolicies(kcfg.Policies); err != nil {
		return kescore.Config{}, err
	}
	if a.cfg.KESConfig != nil {
		if err := a.applyKESConfig(ctx, g, &kcfg, vault); err != nil {
			return kescore.Config{}, err
		}
	}
	return kcfg, nil
}

// seedKESPolicies adds the seed file's KES identities and policies: an identity without a
// certificate file gets one made in <data-dir>/certs, as admin and minio do.
func (a *Appliance) seedKESPolicies(policies map[string]kescore.Policy) error {
	sd := a.cfg.Seed
	if sd == nil {
		return nil
	}
	ids := map[string]string{}
	for _, id := range sd.KES.Identities {
		if id.Cert == "" {
			_, _, hash, err := a.certs.ClientIdentity(id.Name)
			if err != nil {
				return fmt.Errorf("--seed: kes identity %s: %w", id.Name, err)
			}
			ids[id.Name] = hash
			continue
		}
		pemBytes, err := os.ReadFile(id.Cert)
		if err != nil {
			return fmt.Errorf("--seed: kes identity %s: %w", id.Name, err)
		}
		if ids[id.Name], err = certs.IdentityOfPEM(pemBytes); err != nil {
			return fmt.Errorf("--seed: kes identity %s: %w", id.Name, err)
		}
	}
	for _, p := range sd.KES.Policies {
		members := make([]string, 0, len(p.Identities))
		for _, m := range p.Identities {
			if h, ok := ids[m]; ok {
				m = h
			}
			members = append(members, m)
		}
		policies[p.Name] = kescore.Policy{Allow: p.Allow, Deny: p.Deny, Identities: members}
	}
	return nil
}
