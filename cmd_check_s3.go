package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// errS3InUse: a running server holds the object store's metadata file.
var errS3InUse = errors.New("the object store is in use")

// checkS3 checks the object store under dir offline and returns whether it is all well and
// the lines to print. Until s3lite.Check is merged from the integrity branch it checks the
// metadata file's bbolt consistency only; repair is then a no-op.
func checkS3(_ context.Context, dir string, _ bool) (bool, []string, error) {
	path := filepath.Join(dir, "meta.db")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return true, []string{"note: no object store yet"}, nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return false, nil, errS3InUse
	}
	if err != nil {
		return false, nil, err
	}
	defer db.Close()
	var lines []string
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			lines = append(lines, fmt.Sprintf("problem: bbolt: %v", err))
		}
		return nil
	})
	return len(lines) == 0, lines, err
}
