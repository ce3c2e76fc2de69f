// Package atomicfile writes the files kmsbox relies on after a crash: the ones that unseal
// the store or name credentials (dev unseal key, dev S3 credentials, env file, private
// keys). A file is either its old self or wholly the new one, and once WriteFile returns it
// is on disk: the data is fsynced before the rename, and the directory after it, since a
// rename is durable only once its directory is.
//
// # Why hand-written
//
// certmagic's atomic file is internal to it and does not sync the directory; a library for
// this (google/renameio and the like) would be one more dependency for some twenty lines of
// os calls that three packages share.
package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
)

// WriteFile writes data to name through a temporary file in name's directory, created with
// perm (never wider, whatever the umask or an existing file's mode), fsynced, renamed over
// name, and then fsyncs the directory. On error name is unchanged and the temporary file is
// gone.
func WriteFile(name string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), name); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir fsyncs directory dir, making the creations and renames in it durable. It does
// nothing on Windows, which cannot sync a directory handle (and journals renames itself).
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
