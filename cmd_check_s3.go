package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/kmsbox/kmsbox/appliance"
	"github.com/kmsbox/kmsbox/s3lite"
)

// errS3InUse: a running server holds the object store's metadata file.
var errS3InUse = errors.New("the object store is in use")

// checkS3 checks the object store of dataDir offline with s3lite.Check and returns whether it
// is all well and the lines to print. With useVault, a --dev data dir's store key is unsealed
// through the data dir's own vault and key server (appliance.CheckKMS), so records' MACs and
// plain bodies' hashes are verified too; otherwise, or when that vault cannot be opened, what
// the KMS sealed is noted as unchecked, never reported as damage. It runs after the vault's
// own check, which has closed vault.db.
func checkS3(ctx context.Context, dataDir string, repair, useVault bool) (bool, []string, error) {
	dir := appliance.S3Dir(dataDir)
	if _, err := os.Stat(filepath.Join(dir, "meta.db")); errors.Is(err, os.ErrNotExist) {
		return true, []string{"note: no object store yet"}, nil
	}
	var notes []string
	var kms s3lite.KMS
	if useVault {
		k, closeKMS, err := appliance.CheckKMS(ctx, dataDir)
		if err != nil {
			notes = append(notes, fmt.Sprintf("note: the vault's key server could not be opened to unseal the store key: %v", err))
		} else {
			kms = k
			defer closeKMS()
		}
	}
	rep, err := s3lite.Check(ctx, dir, repair, kms)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return false, nil, errS3InUse
	}
	if err != nil {
		return false, nil, err
	}
	return rep.OK(), append(strings.Split(strings.TrimRight(rep.String(), "\n"), "\n"), notes...), nil
}
