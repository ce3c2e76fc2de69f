package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/kmsbox/kmsbox/s3lite"
)

// errS3InUse: a running server holds the object store's metadata file.
var errS3InUse = errors.New("the object store is in use")

// checkS3 checks the object store under dir offline with s3lite.Check and returns whether it
// is all well and the lines to print. No KMS is at hand offline, so records' MACs and body
// hashes sealed under the KMS are noted as unchecked, never reported as damage.
func checkS3(ctx context.Context, dir string, repair bool) (bool, []string, error) {
	if _, err := os.Stat(filepath.Join(dir, "meta.db")); errors.Is(err, os.ErrNotExist) {
		return true, []string{"note: no object store yet"}, nil
	}
	rep, err := s3lite.Check(ctx, dir, repair, nil)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return false, nil, errS3InUse
	}
	if err != nil {
		return false, nil, err
	}
	return rep.OK(), strings.Split(strings.TrimRight(rep.String(), "\n"), "\n"), nil
}
