package s3lite

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// On-disk layout under Config.Dir:
//
//	meta.db            bbolt: buckets, object metadata, multipart uploads
//	tmp/               bodies being written; emptied on Open
//	data/<xx>/<name>   committed bodies (objects and parts), random names
//
// A key never becomes a path: files get 16 random bytes as their name.
// Bolt layout: root bucket "b" holds one sub-bucket per S3 bucket with the
// key "info" (bucketInfo JSON), sub-bucket "o" (object key -> objectMeta
// JSON) and sub-bucket "u" (upload id -> sub-bucket: "info" -> uploadMeta
// JSON, part number (4 bytes BE) -> partMeta JSON).
var (
	rootBucket    = []byte("b")
	infoKey       = []byte("info")
	objectsBucket = []byte("o")
	uploadsBucket = []byte("u")
)

// Object and part commits use bolt's Batch, which coalesces concurrent
// commits into one fsync; their functions are idempotent as Batch requires.
type store struct {
	db      *bolt.DB
	dataDir string
	tmpDir  string
}

// bucketInfo is a bucket's record.
type bucketInfo struct {
	Name       string     `json:"-"`
	Created    time.Time  `json:"created"`
	Encryption *bucketSSE `json:"sse,omitempty"`
}

// bucketSSE is a bucket's default encryption.
type bucketSSE struct {
	Algorithm string `json:"alg"` // "AES256" or "aws:kms"
	KeyID     string `json:"key,omitempty"`
}

// partMeta describes one stored body file: the whole data of a single-part
// object (Number 0) or one part of a multipart upload/object.
type partMeta struct {
	Number   int       `json:"n"`
	File     string    `json:"f"`
	Size     int64     `json:"s"`  // plaintext bytes
	EncSize  int64     `json:"es"` // bytes in the file
	ETag     string    `json:"e"`  // client-visible part ETag (hex, no quotes)
	Checksum string    `json:"c,omitempty"`
	ModTime  time.Time `json:"t"`
}

// objectMeta is an object's record. Header keeps Content-*, Cache-Control,
// Expires and x-amz-meta-* as sent; SSE keeps the internal encryption
// metadata (spec section 3 keys), never sent to clients.
type objectMeta struct {
	Key          string            `json:"-"`
	Size         int64             `json:"size"`
	ETag         string            `json:"etag"`
	ModTime      time.Time         `json:"mtime"`
	Header       map[string]string `json:"hdr,omitempty"`
	ChecksumAlgo string            `json:"cka,omitempty"`
	Checksum     string            `json:"ck,omitempty"`
	ChecksumType string            `json:"ckt,omitempty"`
	Multipart    bool              `json:"mp,omitempty"`
	UploadID     string            `json:"uid,omitempty"`
	Parts        []partMeta        `json:"parts"`
	SSE          map[string]string `json:"sse,omitempty"`
}

// uploadMeta is an in-progress multipart upload.
type uploadMeta struct {
	ID           string            `json:"-"`
	Key          string            `json:"key"`
	Initiated    time.Time         `json:"init"`
	Header       map[string]string `json:"hdr,omitempty"`
	ChecksumAlgo string            `json:"cka,omitempty"`
	ChecksumType string            `json:"ckt,omitempty"`
	SSE          map[string]string `json:"sse,omitempty"`
}

func openStore(dir string) (*store, error) {
	st := &store{dataDir: filepath.Join(dir, "data"), tmpDir: filepath.Join(dir, "tmp")}
	if err := os.RemoveAll(st.tmpDir); err != nil {
		return nil, err
	}
	for _, d := range []string{dir, st.tmpDir, st.dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	for i := 0; i < 256; i++ {
		if err := os.MkdirAll(filepath.Join(st.dataDir, fmt.Sprintf("%02x", i)), 0o700); err != nil {
			return nil, err
		}
	}
	db, err := bolt.Open(filepath.Join(dir, "meta.db"), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("s3lite: open metadata: %w", err)
	}
	st.db = db
	// Short batch window: concurrent commits still share an fsync (they
	// queue behind the running commit), a lone PUT waits at most 1 ms.
	db.MaxBatchDelay = time.Millisecond
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(rootBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	if err := st.sweep(); err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

func (st *store) close() error { return st.db.Close() }

// sweep removes body files no record refers to: leftovers of a crash
// between rename and metadata commit, or before removing replaced bodies.
func (st *store) sweep() error {
	used := map[string]bool{}
	err := st.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(rootBucket).ForEachBucket(func(name []byte) error {
			b := tx.Bucket(rootBucket).Bucket(name)
			if err := b.Bucket(objectsBucket).ForEach(func(_, v []byte) error {
				var m objectMeta
				if err := json.Unmarshal(v, &m); err != nil {
					return err
				}
				for _, p := range m.Parts {
					used[p.File] = true
				}
				return nil
			}); err != nil {
				return err
			}
			return b.Bucket(uploadsBucket).ForEachBucket(func(id []byte) error {
				return b.Bucket(uploadsBucket).Bucket(id).ForEach(func(k, v []byte) error {
					if len(k) != 4 {
						return nil
					}
					var p partMeta
					if err := json.Unmarshal(v, &p); err != nil {
						return err
					}
					used[p.File] = true
					return nil
				})
			})
		})
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

// tempFile creates a file for a body being written.
func (st *store) tempFile() (*os.File, error) { return os.CreateTemp(st.tmpDir, "put-") }

// commitFile makes a fully written temp file durable and moves it under a
// fresh random name into data/. The caller then commits metadata or calls
// removeFiles.
func (st *store) commitFile(f *os.File) (string, error) {
	defer os.Remove(f.Name())
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	name := hex.EncodeToString(id[:1]) + "/" + hex.EncodeToString(id[:])
	dst := filepath.Join(st.dataDir, filepath.FromSlash(name))
	if err := os.Rename(f.Name(), dst); err != nil {
		return "", err
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return "", err
		}
	}
	return name, nil
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

// openFile opens a committed body.
func (st *store) openFile(name string) (*os.File, error) {
	if !validFileName(name) {
		return nil, fmt.Errorf("s3lite: bad body file name %q", name)
	}
	return os.Open(filepath.Join(st.dataDir, filepath.FromSlash(name)))
}

// removeFiles deletes committed bodies no longer referenced.
func (st *store) removeFiles(names []string) {
	for _, n := range names {
		if validFileName(n) {
			os.Remove(filepath.Join(st.dataDir, filepath.FromSlash(n)))
		}
	}
}

func files(parts []partMeta) []string {
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		out = append(out, p.File)
	}
	return out
}

func bucketOf(tx *bolt.Tx, name string) (*bolt.Bucket, error) {
	b := tx.Bucket(rootBucket).Bucket([]byte(name))
	if b == nil {
		return nil, errNoSuchBucket
	}
	return b, nil
}

func (st *store) createBucket(name string, now time.Time) error {
	return st.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(rootBucket).Bucket([]byte(name)) != nil {
			return errBucketExists
		}
		b, err := tx.Bucket(rootBucket).CreateBucket([]byte(name))
		if err != nil {
			return err
		}
		if _, err := b.CreateBucket(objectsBucket); err != nil {
			return err
		}
		if _, err := b.CreateBucket(uploadsBucket); err != nil {
			return err
		}
		v, _ := json.Marshal(bucketInfo{Created: now})
		return b.Put(infoKey, v)
	})
}

// deleteBucket removes an empty bucket, aborting its uploads; it returns
// the part files to remove.
func (st *store) deleteBucket(name string) ([]string, error) {
	var old []string
	err := st.db.Update(func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, name)
		if err != nil {
			return err
		}
		if k, _ := b.Bucket(objectsBucket).Cursor().First(); k != nil {
			return errBucketNotEmpty
		}
		u := b.Bucket(uploadsBucket)
		_ = u.ForEachBucket(func(id []byte) error {
			return u.Bucket(id).ForEach(func(k, v []byte) error {
				var p partMeta
				if len(k) == 4 && json.Unmarshal(v, &p) == nil {
					old = append(old, p.File)
				}
				return nil
			})
		})
		return tx.Bucket(rootBucket).DeleteBucket([]byte(name))
	})
	return old, err
}

func (st *store) getBucket(name string) (bucketInfo, error) {
	var bi bucketInfo
	err := st.db.View(func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, name)
		if err != nil {
			return err
		}
		return json.Unmarshal(b.Get(infoKey), &bi)
	})
	bi.Name = name
	return bi, err
}

func (st *store) listBuckets() ([]bucketInfo, error) {
	var out []bucketInfo
	err := st.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(rootBucket).ForEachBucket(func(name []byte) error {
			var bi bucketInfo
			if err := json.Unmarshal(tx.Bucket(rootBucket).Bucket(name).Get(infoKey), &bi); err != nil {
				return err
			}
			bi.Name = string(name)
			out = append(out, bi)
			return nil
		})
	})
	return out, err
}

func (st *store) setBucketEncryption(name string, cfg *bucketSSE) error {
	return st.db.Update(func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, name)
		if err != nil {
			return err
		}
		var bi bucketInfo
		if err := json.Unmarshal(b.Get(infoKey), &bi); err != nil {
			return err
		}
		bi.Encryption = cfg
		v, _ := json.Marshal(bi)
		return b.Put(infoKey, v)
	})
}

func (st *store) getObject(bucket, key string) (*objectMeta, error) {
	var m objectMeta
	err := st.db.View(func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		v := b.Bucket(objectsBucket).Get([]byte(key))
		if v == nil {
			return errNoSuchKey
		}
		return json.Unmarshal(v, &m)
	})
	if err != nil {
		return nil, err
	}
	m.Key = key
	return &m, nil
}

// writeCond checks a conditional write against the current object (nil if
// absent) inside the transaction; it must not block.
type writeCond func(cur *objectMeta) error

// putObject commits m if cond (may be nil) allows, returning the body files
// of the object it replaced.
func (st *store) putObject(bucket string, m *objectMeta, cond writeCond) ([]string, error) {
	var old []string
	v, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	err = st.db.Batch(func(tx *bolt.Tx) error {
		old = nil // Batch may run fn more than once
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		ob := b.Bucket(objectsBucket)
		var cur *objectMeta
		if prev := ob.Get([]byte(m.Key)); prev != nil {
			var pm objectMeta
			if json.Unmarshal(prev, &pm) == nil {
				old = files(pm.Parts)
				cur = &pm
			}
		}
		if cond != nil {
			if err := cond(cur); err != nil {
				return err
			}
		}
		return ob.Put([]byte(m.Key), v)
	})
	return old, err
}

// deleteObject removes key (absent keys are no error) and returns its files.
func (st *store) deleteObject(bucket, key string) ([]string, error) {
	var old []string
	err := st.db.Batch(func(tx *bolt.Tx) error {
		old = nil // Batch may run fn more than once
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		ob := b.Bucket(objectsBucket)
		prev := ob.Get([]byte(key))
		if prev == nil {
			return nil
		}
		var pm objectMeta
		if json.Unmarshal(prev, &pm) == nil {
			old = files(pm.Parts)
		}
		return ob.Delete([]byte(key))
	})
	return old, err
}

// scanObjects calls fn for objects with prefix and key > after, in key
// order, until fn returns false.
func (st *store) scanObjects(bucket, prefix, after string, fn func(*objectMeta) bool) error {
	return st.db.View(func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		c := b.Bucket(objectsBucket).Cursor()
		start := prefix
		if after > start {
			start = after
		}
		for k, v := c.Seek([]byte(start)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
			if string(k) <= after {
				continue
			}
			var m objectMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			m.Key = string(k)
			if !fn(&m) {
				return nil
			}
		}
		return nil
	})
}

func partRecordKey(n int) []byte {
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], uint32(n))
	return k[:]
}

func (st *store) createUpload(bucket string, u *uploadMeta) error {
	v, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return st.db.Update(func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		ub, err := b.Bucket(uploadsBucket).CreateBucket([]byte(u.ID))
		if err != nil {
			return err
		}
		return ub.Put(infoKey, v)
	})
}

func uploadOf(tx *bolt.Tx, bucket, key, id string) (*bolt.Bucket, *uploadMeta, error) {
	b, err := bucketOf(tx, bucket)
	if err != nil {
		return nil, nil, err
	}
	ub := b.Bucket(uploadsBucket).Bucket([]byte(id))
	if ub == nil {
		return nil, nil, errNoSuchUpload
	}
	var u uploadMeta
	if err := json.Unmarshal(ub.Get(infoKey), &u); err != nil {
		return nil, nil, err
	}
	if u.Key != key {
		return nil, nil, errNoSuchUpload
	}
	u.ID = id
	return ub, &u, nil
}

// getUpload returns the upload and its parts in part number order.
func (st *store) getUpload(bucket, key, id string) (*uploadMeta, []partMeta, error) {
	var u *uploadMeta
	var parts []partMeta
	err := st.db.View(func(tx *bolt.Tx) error {
		ub, um, err := uploadOf(tx, bucket, key, id)
		if err != nil {
			return err
		}
		u = um
		return ub.ForEach(func(k, v []byte) error {
			if len(k) != 4 {
				return nil
			}
			var p partMeta
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			parts = append(parts, p)
			return nil
		})
	})
	return u, parts, err
}

// putPart records a part, returning the file of the part it replaced.
func (st *store) putPart(bucket, key, id string, p partMeta) ([]string, error) {
	var old []string
	v, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	err = st.db.Batch(func(tx *bolt.Tx) error {
		old = nil // Batch may run fn more than once
		ub, _, err := uploadOf(tx, bucket, key, id)
		if err != nil {
			return err
		}
		if prev := ub.Get(partRecordKey(p.Number)); prev != nil {
			var pp partMeta
			if json.Unmarshal(prev, &pp) == nil {
				old = append(old, pp.File)
			}
		}
		return ub.Put(partRecordKey(p.Number), v)
	})
	return old, err
}

// completeUpload atomically turns an upload into object m (whose Parts must
// be a subset of the stored parts, checked by the caller on a snapshot and
// re-checked here) and returns every file no longer referenced.
func (st *store) completeUpload(bucket, id string, m *objectMeta, cond writeCond) ([]string, error) {
	var old []string
	v, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	err = st.db.Update(func(tx *bolt.Tx) error {
		ub, _, err := uploadOf(tx, bucket, m.Key, id)
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		for _, p := range m.Parts {
			keep[p.File] = true
			var cur partMeta
			if raw := ub.Get(partRecordKey(p.Number)); raw == nil || json.Unmarshal(raw, &cur) != nil || cur.File != p.File {
				return errInvalidPart
			}
		}
		_ = ub.ForEach(func(k, v []byte) error {
			var p partMeta
			if len(k) == 4 && json.Unmarshal(v, &p) == nil && !keep[p.File] {
				old = append(old, p.File)
			}
			return nil
		})
		b, _ := bucketOf(tx, bucket)
		ob := b.Bucket(objectsBucket)
		var cur *objectMeta
		if prev := ob.Get([]byte(m.Key)); prev != nil {
			var pm objectMeta
			if json.Unmarshal(prev, &pm) == nil {
				cur = &pm
			}
		}
		if cond != nil {
			if err := cond(cur); err != nil {
				return err
			}
		}
		if cur != nil {
			old = append(old, files(cur.Parts)...)
		}
		if err := b.Bucket(uploadsBucket).DeleteBucket([]byte(id)); err != nil {
			return err
		}
		return ob.Put([]byte(m.Key), v)
	})
	return old, err
}

// abortUpload deletes an upload and returns its part files.
func (st *store) abortUpload(bucket, key, id string) ([]string, error) {
	var old []string
	err := st.db.Update(func(tx *bolt.Tx) error {
		ub, _, err := uploadOf(tx, bucket, key, id)
		if err != nil {
			return err
		}
		_ = ub.ForEach(func(k, v []byte) error {
			var p partMeta
			if len(k) == 4 && json.Unmarshal(v, &p) == nil {
				old = append(old, p.File)
			}
			return nil
		})
		b, _ := bucketOf(tx, bucket)
		return b.Bucket(uploadsBucket).DeleteBucket([]byte(id))
	})
	return old, err
}

// listUploads returns the bucket's uploads with prefix, ordered by key, then
// initiation time, then id.
func (st *store) listUploads(bucket, prefix string) ([]uploadMeta, error) {
	var out []uploadMeta
	err := st.db.View(func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		u := b.Bucket(uploadsBucket)
		return u.ForEachBucket(func(id []byte) error {
			var um uploadMeta
			if err := json.Unmarshal(u.Bucket(id).Get(infoKey), &um); err != nil {
				return err
			}
			if strings.HasPrefix(um.Key, prefix) {
				um.ID = string(id)
				out = append(out, um)
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		if !out[i].Initiated.Equal(out[j].Initiated) {
			return out[i].Initiated.Before(out[j].Initiated)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}
