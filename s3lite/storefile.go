package s3lite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// sweep removes body files no record refers to: leftovers of a crash
// between rename and metadata commit, or before removing replaced bodies.
// A record that does not decode keeps every file name found in it (filesIn),
// and is reported, never a reason to fail.
func (st *store) sweep(ctx context.Context) error {
	used := map[string]bool{}
	err := st.view(ctx, func(tx *bolt.Tx) error {
		return st.referencedFiles(tx, used)
	})
	if err != nil {
		return err
	}
	return filepath.WalkDir(st.dataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(st.dataDir, path)
		if !used[filepath.ToSlash(rel)] {
			return os.Remove(path)
		}
		return nil
	})
}

// referencedFiles adds to used every body file a record of tx refers to or may refer to:
// object records (current and noncurrent versions), part records of uploads, and records
// moved aside by Check.
func (st *store) referencedFiles(tx *bolt.Tx, used map[string]bool) error {
	addRaw := func(v []byte) {
		for _, n := range filesIn(v) {
			used[n] = true
		}
	}
	if d := tx.Bucket(damagedBucket); d != nil {
		_ = d.ForEach(func(_, v []byte) error { addRaw(v); return nil })
	}
	return tx.Bucket(rootBucket).ForEachBucket(func(name []byte) error {
		b := tx.Bucket(rootBucket).Bucket(name)
		for _, sub := range [][]byte{objectsBucket, versionsBucket} {
			ob := b.Bucket(sub)
			if ob == nil {
				continue
			}
			_ = ob.ForEach(func(k, v []byte) error {
				m, err := decodeObject(string(k), v)
				if err != nil {
					st.dmg.report(string(name), string(k), err)
					addRaw(v)
					return nil
				}
				for _, p := range m.Parts {
					used[p.File] = true
				}
				return nil
			})
		}
		ub := b.Bucket(uploadsBucket)
		if ub == nil {
			return nil
		}
		return ub.ForEachBucket(func(id []byte) error {
			return ub.Bucket(id).ForEach(func(k, v []byte) error {
				if len(k) != 4 || v == nil {
					return nil
				}
				var p partMeta
				if err := json.Unmarshal(v, &p); err != nil {
					addRaw(v)
					return nil
				}
				used[p.File] = true
				return nil
			})
		})
	})
}

// tempFile creates a file for a body being written.
func (st *store) tempFile() (*os.File, error) { return os.CreateTemp(st.tmpDir, "put-") }

// commitFile makes a fully written temp file durable under a fresh random
// name in data/ and returns that name. The caller then commits metadata or
// calls removeFiles.
//
// The file is renamed before it is synced: the fsync of the file and then
// of its new directory both happen before commitFile returns, as before,
// but on a journaling file system (ext4, XFS) the first fsync now commits
// the data, the inode and the new directory entry in one journal
// transaction and the directory's fsync finds nothing left to commit, where
// syncing before the rename took two commits. A crash before the syncs
// leaves at most a file in data/ that no record names, as a crash between
// rename and metadata commit always could; the sweep at open removes it.
func (st *store) commitFile(ctx context.Context, f *os.File) (string, error) {
	if err := ctx.Err(); err != nil {
		discard(f)
		return "", err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		discard(f)
		return "", err
	}
	name := hex.EncodeToString(id[:1]) + "/" + hex.EncodeToString(id[:])
	dst := filepath.Join(st.dataDir, filepath.FromSlash(name))
	if err := os.Rename(f.Name(), dst); err != nil {
		discard(f)
		return "", err
	}
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(dst))
	}
	if err != nil {
		os.Remove(dst)
		return "", err
	}
	return name, nil
}

// syncDir makes the entries of directory dir durable. A directory that
// does not open is no error: there is nothing to sync then (the file
// system rejected the open, not the sync).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	err = d.Sync()
	d.Close()
	return err
}

// discard removes a temp file that will not be committed.
func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// validFileName accepts only names commitFile makes.
func validFileName(name string) bool {
	if len(name) != 35 || name[2] != '/' || name[:2] != name[3:5] {
		return false
	}
	_, err := hex.DecodeString(name[3:])
	return err == nil
}

// openFile opens a committed body that must hold exactly size bytes: the
// plaintext size of a plain part, the DARE size of an encrypted one. A
// file of any other size was cut, padded or replaced, or its record was
// edited (a lowered or raised size, encryption metadata removed so that
// ciphertext would pass for plaintext): errObjectTampered, before a byte
// of it is read.
func (st *store) openFile(name string, size int64) (*os.File, error) {
	if !validFileName(name) {
		return nil, fmt.Errorf("%w: bad body file name %q", errObjectTampered, name)
	}
	f, err := os.Open(filepath.Join(st.dataDir, filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size() != size {
		err = fmt.Errorf("%w: body file %s holds %d bytes, its record implies %d", errObjectTampered, name, fi.Size(), size)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// statFile is openFile without the open: a missing file or one of another size than
// size is errObjectTampered.
func (st *store) statFile(name string, size int64) error {
	if !validFileName(name) {
		return fmt.Errorf("%w: bad body file name %q", errObjectTampered, name)
	}
	fi, err := os.Stat(filepath.Join(st.dataDir, filepath.FromSlash(name)))
	if err != nil {
		return err // missing: a concurrent overwrite (retried) or damage (missingIsTampered)
	}
	if fi.Size() != size {
		return fmt.Errorf("%w: body file %s holds %d bytes, its record implies %d", errObjectTampered, name, fi.Size(), size)
	}
	return nil
}

// trashQueue bounds the bodies waiting for remover; past it, removeFiles
// unlinks them itself.
const trashQueue = 1024

// removeFiles deletes committed bodies no longer referenced: it queues them
// for remover, so that an overwrite does not wait for the unlink of the body
// it replaced (5 ms for 16 MiB here, on ext4 with discard; MinIO too moves
// such bodies out of the request's way). A crash before the unlink leaves
// files no record names, which the sweep at the next open removes.
func (st *store) removeFiles(names []string) {
	st.trashMu.RLock()
	defer st.trashMu.RUnlock()
	for _, n := range names {
		if !validFileName(n) {
			continue
		}
		if !st.trashClosed {
			st.trashed.Add(1)
			select {
			case st.trash <- n:
				continue
			default: // full
				st.trashed.Done()
			}
		}
		st.unlink(n)
	}
}

// remover unlinks the bodies removeFiles queues, until close.
func (st *store) remover() {
	defer close(st.removerDone)
	for n := range st.trash {
		st.unlink(n)
		st.trashed.Done()
	}
}

func (st *store) unlink(name string) {
	os.Remove(filepath.Join(st.dataDir, filepath.FromSlash(name)))
}

// files returns the body file names of parts.
func files(parts []partMeta) []string {
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		out = append(out, p.File)
	}
	return out
}
