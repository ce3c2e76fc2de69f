package appliance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/kescore/kesclient"
	"github.com/kmsbox/kmsbox/s3lite"
)

// s3Config builds the object store's configuration: credentials, and the KMS it takes its
// keys from (in-process KES by default, a remote KES, or the guide's single static key).
func (a *Appliance) s3Config(ctx context.Context, g *generation, kes *kescore.Server) (s3lite.Config, error) {
	cfg := a.cfg
	access, secret := cfg.S3.AccessKey, cfg.S3.SecretKey
	if sd := cfg.Seed; sd != nil && sd.S3.AccessKey != "" {
		// kmsbox's S3 server has one key pair: the seed's credentials are it.
		access, secret = sd.S3.AccessKey, sd.S3.SecretKey
	}
	switch {
	case access != "" && secret != "":
	case access != "" || secret != "":
		return s3lite.Config{}, errors.New("s3: MINIO_ROOT_USER and MINIO_ROOT_PASSWORD must be set together")
	case cfg.Dev:
		dc, err := loadDevCredentials(cfg.DataDir, a.det.reader("s3 credentials"))
		if err != nil {
			return s3lite.Config{}, fmt.Errorf("s3: %w", err)
		}
		access, secret = dc.AccessKey, dc.SecretKey
	default:
		access, secret = "minioadmin", "minioadmin"
		a.log.Warn("s3: no MINIO_ROOT_USER/MINIO_ROOT_PASSWORD set, using the default minioadmin credentials")
	}

	var kms *kmsAdapter
	switch {
	case cfg.KMS.StaticKey != "":
		static, staticKES, err := openStaticKMS(ctx, cfg.KMS.StaticKey, cfg.S3.KeyName, cfg.Logger.With("server", "kms-static"))
		if err != nil {
			return s3lite.Config{}, fmt.Errorf("s3: %w", err)
		}
		g.closers = append(g.closers, staticKES.Close)
		kms = static
		cfg.S3.KeyName = static.defaultKey // the guide's appendix B names its key freely
	case len(cfg.KMS.KESEndpoints) > 0 && !a.isOwnKES(cfg.KMS.KESEndpoints):
		remote, err := remoteKES(cfg.KMS)
		if err != nil {
			return s3lite.Config{}, fmt.Errorf("s3: MINIO_KMS_KES_*: %w", err)
		}
		kms = &kmsAdapter{keys: remote, defaultKey: cfg.S3.KeyName, createDefault: true, probeByGenerate: true,
			source: "KES at " + strings.Join(cfg.KMS.KESEndpoints, ", ")}
	default:
		kms = &kmsAdapter{keys: kes, defaultKey: cfg.S3.KeyName, createDefault: true,
			source: "kmsbox KES (in-process)", ours: true}
	}

	return s3lite.Config{
		Dir:          S3Dir(cfg.DataDir),
		Credentials:  map[string]string{access: secret},
		Region:       cfg.S3.Region,
		Domain:       cfg.S3.Domain,
		KMS:          kms,
		DefaultKeyID: cfg.S3.KeyName,
		AutoEncrypt:  cfg.S3.AutoEncrypt,
		Logger:       cfg.Logger.With("server", "s3"),
	}, nil
}

// isOwnKES reports whether every endpoint names this appliance's own KES listener, in which
// case the in-process key server is used instead of a TLS round trip to ourselves.
func (a *Appliance) isOwnKES(endpoints []string) bool {
	for _, e := range endpoints {
		if !isLocal(e, a.addrs["kes"]) {
			return false
		}
	}
	return true
}

func remoteKES(k KMSConfig) (*kesclient.Client, error) {
	tlsConfig, err := kesclient.TLSConfig(k.KESCertFile, k.KESKeyFile, k.KESCAPath, false)
	if err != nil {
		return nil, err
	}
	return kesclient.New(kesclient.Config{Endpoints: k.KESEndpoints, TLS: tlsConfig})
}

// rootCredentials returns the object store's one access/secret key pair (s3Config makes
// exactly one).
func rootCredentials(scfg s3lite.Config) (accessKey, secretKey string) {
	for k, v := range scfg.Credentials {
		accessKey, secretKey = k, v
	}
	return accessKey, secretKey
}
