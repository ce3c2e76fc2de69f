package appliance

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/kescore/kesclient"
	"github.com/kmsbox/kmsbox/s3lite"
)

// s3Config builds the object store's configuration: credentials, and the KMS it takes its
// keys from (in-process KES by default, a remote KES, or the guide's single static key).
func (a *Appliance) s3Config(ctx context.Context, kes *kescore.Server) (s3lite.Config, error) {
	cfg := a.cfg
	access, secret := cfg.S3.AccessKey, cfg.S3.SecretKey
	switch {
	case access != "" && secret != "":
	case access != "" || secret != "":
		return s3lite.Config{}, errors.New("s3: MINIO_ROOT_USER and MINIO_ROOT_PASSWORD must be set together")
	case cfg.Dev:
		dc, err := loadDevCredentials(cfg.DataDir)
		if err != nil {
			return s3lite.Config{}, fmt.Errorf("s3: %w", err)
		}
		access, secret = dc.AccessKey, dc.SecretKey
	default:
		access, secret = "minioadmin", "minioadmin"
		a.log.Warn("s3: no MINIO_ROOT_USER/MINIO_ROOT_PASSWORD set, using the default minioadmin credentials")
	}

	var kms s3lite.KMS
	switch {
	case cfg.KMS.StaticKey != "":
		static, err := s3lite.NewStaticKMS(cfg.KMS.StaticKey)
		if err != nil {
			return s3lite.Config{}, fmt.Errorf("s3: static KMS key: %w", err)
		}
		kms = static
		if cfg.S3.KeyName == "" {
			cfg.S3.KeyName = static.KeyID() // the guide's appendix B names its key freely
		}
	case len(cfg.KMS.KESEndpoints) > 0 && !a.isOwnKES(cfg.KMS.KESEndpoints):
		remote, err := remoteKES(cfg.KMS)
		if err != nil {
			return s3lite.Config{}, fmt.Errorf("s3: MINIO_KMS_KES_*: %w", err)
		}
		kms = &remoteKMS{client: remote, defaultKey: cfg.S3.KeyName}
	default:
		kms = &kesKMS{kes: kes, defaultKey: cfg.S3.KeyName}
	}

	return s3lite.Config{
		Dir:          filepath.Join(cfg.DataDir, "s3"),
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

// remoteKMS gives the object store its keys from a KES server over mTLS, with kmsbox's own
// client. Like MinIO, it creates the default key the first time a generate finds it missing.
type remoteKMS struct {
	client     *kesclient.Client
	defaultKey string
}

func (k *remoteKMS) GenerateKey(ctx context.Context, keyID string, assoc []byte) (s3lite.DEK, error) {
	if keyID == "" {
		keyID = k.defaultKey
	}
	pt, ct, err := k.client.GenerateKey(ctx, keyID, assoc)
	if errors.Is(err, kesclient.ErrKeyNotFound) && keyID == k.defaultKey {
		if err = k.client.CreateKey(ctx, keyID); err == nil || errors.Is(err, kesclient.ErrKeyExists) || errors.Is(err, kesclient.ErrNotAllowed) {
			pt, ct, err = k.client.GenerateKey(ctx, keyID, assoc)
		}
	}
	if err != nil {
		return s3lite.DEK{}, remoteKMSError(err)
	}
	return s3lite.DEK{KeyID: keyID, Plaintext: pt, Ciphertext: ct}, nil
}

func (k *remoteKMS) Decrypt(ctx context.Context, keyID string, ciphertext, assoc []byte) ([]byte, error) {
	pt, err := k.client.Decrypt(ctx, keyID, ciphertext, assoc)
	return pt, remoteKMSError(err)
}

// Status asks the KES for a data key, as MinIO's readiness check does: the identity's
// policy allows that (the guide's allows nothing else), and it proves keys can be had.
func (k *remoteKMS) Status(ctx context.Context) error {
	_, err := k.GenerateKey(ctx, "", []byte(`{"healthcheck":""}`))
	return err
}

// remoteKMSError translates KES wire errors into s3lite's KMS errors.
func remoteKMSError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kesclient.ErrKeyNotFound):
		return fmt.Errorf("%w: %w", s3lite.ErrKMSKeyNotFound, err)
	case errors.Is(err, kesclient.ErrNotAllowed):
		return fmt.Errorf("%w: %w", s3lite.ErrKMSNotAuthorized, err)
	case errors.Is(err, kesclient.ErrDecrypt):
		return fmt.Errorf("%w: %w", s3lite.ErrKMSInvalidCiphertext, err)
	}
	return fmt.Errorf("%w: %w", s3lite.ErrKMSUnavailable, err)
}

// rootCredentials returns the object store's one access/secret key pair (s3Config makes
// exactly one).
func rootCredentials(scfg s3lite.Config) (accessKey, secretKey string) {
	for k, v := range scfg.Credentials {
		accessKey, secretKey = k, v
	}
	return accessKey, secretKey
}
