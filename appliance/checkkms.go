package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/s3lite"
)

// CheckKMS is the object store's KMS for an offline `kmsbox check` of a stopped --dev data dir:
// the data dir's vault, unsealed with its dev unseal file, and an in-process key server over
// the default key store (KV v1 kes/), so that the check can unseal the store key and verify
// every record's MAC and every plain body's block hashes. It opens nothing for a data dir
// without a dev unseal file (kms is nil: the check notes what it could not verify), and it
// does not know the keys of a --kes-config key store, a remote KES or a static key. close
// releases the vault's file lock; call it when the check is done.
func CheckKMS(ctx context.Context, dataDir string) (kms s3lite.KMS, close func() error, err error) {
	none := func() error { return nil }
	keyFile := DevUnsealFile(dataDir)
	if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
		return nil, none, nil
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	vault, err := embeddedvault.Open(ctx, embeddedvault.Config{
		Path: VaultFile(dataDir), Dev: true, DevKeyFile: keyFile, Logger: quiet,
	})
	if err != nil {
		return nil, none, fmt.Errorf("vault: %w", err)
	}
	kes, err := kescore.Open(ctx, kescore.Config{
		Store:  &vaultKeyStore{vault: vault, mount: kesDefaultMount},
		Logger: quiet,
	})
	if err != nil {
		vault.Close()
		return nil, none, fmt.Errorf("kes: %w", err)
	}
	return &kmsAdapter{keys: kes, source: "kmsbox KES (offline)", ours: true},
		func() error { return errors.Join(kes.Close(), vault.Close()) }, nil
}
