package s3lite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CheckReport is what [Check] found and, with repair, did.
type CheckReport struct {
	// Problems names each damaged or stale thing found, one line each: bolt consistency
	// errors, records that do not decode or whose MAC does not verify, body files missing,
	// of the wrong size or failing their block hashes, orphan body files, stale temp
	// files, expired multipart uploads.
	Problems []string
	// Repaired names what repair did (empty without repair).
	Repaired []string
	// Notes names what could not be checked (for example MACs and body hashes when the
	// store key is sealed by a KMS and none was given).
	Notes []string
	// Buckets, Objects and Parts count what was checked.
	Buckets, Objects, Parts int
}

// OK reports whether Check found no problem.
func (r CheckReport) OK() bool { return len(r.Problems) == 0 }

// String is the report as text, one finding a line.
func (r CheckReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checked %d buckets, %d objects, %d body files\n", r.Buckets, r.Objects, r.Parts)
	for _, sec := range []struct {
		head  string
		lines []string
	}{{"problem", r.Problems}, {"repaired", r.Repaired}, {"note", r.Notes}} {
		for _, l := range sec.lines {
			fmt.Fprintf(&b, "%s: %s\n", sec.head, l)
		}
	}
	return b.String()
}

// checkUploadExpiry is the age past which Check reports (and repair removes) an upload.
const checkUploadExpiry = defaultUploadExpiry

// Check verifies the S3 store under dir (Config.Dir) offline, while no server has it
// open (bolt's file lock; Check fails after a second otherwise): bolt's own consistency
// check, every bucket and object record decodes and its MAC verifies, every body file
// exists with the size its record implies, and plaintext bodies match their block hashes
// (encrypted bodies are checked by size; DARE authenticates them on read). kms (may be
// nil) unseals the store key when a KMS sealed it; without it MACs and hashes are noted
// as unchecked. With repair, orphan body files and stale temp files are removed, uploads
// older than 24 h are aborted, and records that do not decode or verify are moved aside
// into the top-level bolt bucket "damaged" ("<bucket>/<key>" -> record), whose body files
// are then kept: a body a record refers to is never deleted. The error is for a store
// that cannot be checked at all; what is wrong inside it is in the report.
func Check(ctx context.Context, dir string, repair bool, kms KMS) (CheckReport, error) {
	var rep CheckReport
	path := filepath.Join(dir, "meta.db")
	if _, err := os.Stat(path); err != nil {
		return rep, fmt.Errorf("s3lite: check: %w", err)
	}
	opts := &bolt.Options{Timeout: time.Second, ReadOnly: !repair}
	db, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return rep, fmt.Errorf("s3lite: check: open %s: %w", path, err)
	}
	defer db.Close()
	st := &store{db: db, dataDir: filepath.Join(dir, "data"), tmpDir: filepath.Join(dir, "tmp")}
	c := &checker{ctx: ctx, st: st, rep: &rep, repair: repair}
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			rep.Problems = append(rep.Problems, "bolt: "+err.Error())
		}
		return nil
	}); err != nil {
		return rep, err
	}
	c.loadKeys(kms)
	if err := c.records(); err != nil {
		return rep, err
	}
	if err := c.files(); err != nil {
		return rep, err
	}
	return rep, ctx.Err()
}

// checker is one run of Check.
type checker struct {
	ctx    context.Context
	st     *store
	rep    *CheckReport
	repair bool

	bucketMM macMode
	objectMM macMode
	hashKey  []byte // nil: block hashes not checked
	keyless  bool   // object MACs not checkable
}

func (c *checker) problem(format string, args ...any) {
	c.rep.Problems = append(c.rep.Problems, fmt.Sprintf(format, args...))
}

func (c *checker) repaired(format string, args ...any) {
	c.rep.Repaired = append(c.rep.Repaired, fmt.Sprintf(format, args...))
}

// loadKeys reads the store's keys and MAC markers.
func (c *checker) loadKeys(kms KMS) {
	var clear, bkey []byte
	var sealed sealedStoreKey
	var macs, bmacs bool
	_ = c.st.db.View(func(tx *bolt.Tx) error {
		sys := tx.Bucket(sysBucket)
		if sys == nil {
			return nil
		}
		clear, bkey = sys.Get(sysClearKey), sys.Get(sysBucketKey)
		clear, bkey = append([]byte(nil), clear...), append([]byte(nil), bkey...)
		macs, bmacs = sys.Get(sysMACsMarker) != nil, sys.Get(sysBMACsMarker) != nil
		if v := sys.Get(sysSealedKey); v != nil {
			if err := json.Unmarshal(v, &sealed); err != nil {
				c.problem("the sealed store key record does not decode: %v", err)
			}
		}
		return nil
	})
	c.bucketMM = macMode{key: bkey, required: bmacs, unchecked: len(bkey) != 32}
	if c.bucketMM.unchecked {
		c.rep.Notes = append(c.rep.Notes, "the store has no bucket record key: bucket records were written before MACs")
	}
	var key []byte
	switch {
	case len(clear) == 32:
		key = clear
	case sealed.Ciphertext != nil && kms == nil:
		c.rep.Notes = append(c.rep.Notes, fmt.Sprintf("the store key is sealed by the KMS (key %q) and no KMS was given: object MACs and block hashes are not checked", sealed.KeyID))
	case sealed.Ciphertext != nil:
		k, err := kms.Decrypt(c.ctx, sealed.KeyID, sealed.Ciphertext, storeKeyContext)
		if err != nil || len(k) != 32 {
			c.problem("the store key does not unseal with the KMS (key %q): %v; object MACs and block hashes are not checked", sealed.KeyID, err)
		} else {
			key = k
		}
	default:
		c.rep.Notes = append(c.rep.Notes, "the store has no store key yet: no object was written since MACs, none is checked")
	}
	if key == nil {
		c.objectMM, c.keyless = macMode{unchecked: true}, true
		return
	}
	c.objectMM = macMode{key: key, required: macs}
	c.hashKey = deriveBodyHashKey(key)
}

// records checks every bucket, object and upload record and, with repair, moves damaged
// object records aside and aborts expired uploads.
func (c *checker) records() error {
	type moved struct {
		bucket, key string
		version     bool // key is a noncurrent version's record key
	}
	var aside []moved
	var expired []moved // bucket, upload id
	err := c.st.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(rootBucket).ForEachBucket(func(name []byte) error {
			bucket := string(name)
			b := tx.Bucket(rootBucket).Bucket(name)
			c.rep.Buckets++
			if _, err := readBucket(b, c.bucketMM, bucket); err != nil {
				c.problem("bucket %s: %v", bucket, err)
			}
			if ob := b.Bucket(objectsBucket); ob != nil {
				err := ob.ForEach(func(k, v []byte) error {
					if err := c.ctx.Err(); err != nil {
						return err
					}
					c.rep.Objects++
					m, err := readObject(b, c.objectMM, bucket, string(k), v)
					if err != nil {
						c.problem("object %s/%s: %v", bucket, k, err)
						aside = append(aside, moved{bucket, string(k), false})
						return nil
					}
					c.bodies(bucket, m)
					return nil
				})
				if err != nil {
					return err
				}
			}
			if vb := b.Bucket(versionsBucket); vb != nil {
				err := vb.ForEach(func(k, v []byte) error {
					if err := c.ctx.Err(); err != nil {
						return err
					}
					c.rep.Objects++
					m, err := readVersion(b, c.objectMM, bucket, k, v)
					if err != nil {
						c.problem("object version %s/%s: %v", bucket, versionName(k), err)
						aside = append(aside, moved{bucket, string(k), true})
						return nil
					}
					c.bodies(bucket, m)
					return nil
				})
				if err != nil {
					return err
				}
			}
			if ub := b.Bucket(uploadsBucket); ub != nil {
				_ = ub.ForEachBucket(func(id []byte) error {
					var u uploadMeta
					if err := json.Unmarshal(ub.Bucket(id).Get(infoKey), &u); err != nil {
						c.problem("upload %s in bucket %s: the record does not decode: %v", id, bucket, err)
						return nil
					}
					if time.Since(u.Initiated) > checkUploadExpiry {
						c.problem("upload %s of %s/%s: started %s, abandoned", id, bucket, u.Key, u.Initiated.Format(time.RFC3339))
						expired = append(expired, moved{bucket, string(id), false})
					}
					return nil
				})
			}
			return nil
		})
	})
	if err != nil || !c.repair || len(aside)+len(expired) == 0 {
		return err
	}
	return c.st.db.Update(func(tx *bolt.Tx) error {
		d, err := tx.CreateBucketIfNotExists(damagedBucket)
		if err != nil {
			return err
		}
		for _, m := range aside {
			b := tx.Bucket(rootBucket).Bucket([]byte(m.bucket))
			if m.version {
				vk := []byte(m.key)
				if err := d.Put([]byte(m.bucket+"/"+versionName(vk)), bytes.Clone(b.Bucket(versionsBucket).Get(vk))); err != nil {
					return err
				}
				if err := deleteNoncurrent(b, vk); err != nil {
					return err
				}
				c.repaired("moved the record of %s/%s aside (bolt bucket %q)", m.bucket, versionName(vk), damagedBucket)
				continue
			}
			ob := b.Bucket(objectsBucket)
			if err := d.Put([]byte(m.bucket+"/"+m.key), append([]byte(nil), ob.Get([]byte(m.key))...)); err != nil {
				return err
			}
			if mb := b.Bucket(macsBucket); mb != nil {
				if err := mb.Delete([]byte(m.key)); err != nil {
					return err
				}
			}
			if err := ob.Delete([]byte(m.key)); err != nil {
				return err
			}
			c.repaired("moved the record of %s/%s aside (bolt bucket %q)", m.bucket, m.key, damagedBucket)
		}
		for _, u := range expired {
			if err := tx.Bucket(rootBucket).Bucket([]byte(u.bucket)).Bucket(uploadsBucket).DeleteBucket([]byte(u.key)); err != nil {
				return err
			}
			c.repaired("aborted upload %s in bucket %s (its part files are removed as orphans)", u.key, u.bucket)
		}
		return nil
	})
}

// bodies checks the body files of object m.
func (c *checker) bodies(bucket string, m *objectMeta) {
	if m.DeleteMarker {
		return // a delete marker has no body
	}
	if err := checkRecordSize(m); err != nil {
		c.problem("object %s/%s: %v", bucket, m.Key, err)
		return
	}
	encrypted := sseTypeOf(m.SSE) != ""
	for _, p := range m.Parts {
		c.rep.Parts++
		want := p.Size
		switch {
		case encrypted:
			want = encryptedSize(p.Size)
		case p.Hash != nil:
			want = hashedFileSize(p.Size)
		}
		if err := c.st.statFile(p.File, want); err != nil {
			c.problem("object %s/%s part %d: %v", bucket, m.Key, p.Number, err)
			continue
		}
		if encrypted || p.Hash == nil || c.hashKey == nil {
			continue
		}
		if err := c.verifyHashes(p); err != nil {
			c.problem("object %s/%s part %d: %v", bucket, m.Key, p.Number, err)
		}
	}
}

// verifyHashes reads a hashed plaintext body whole through its block hashes.
func (c *checker) verifyHashes(p partMeta) error {
	f, err := os.Open(filepath.Join(c.st.dataDir, filepath.FromSlash(p.File)))
	if err != nil {
		return err
	}
	defer f.Close()
	hr, err := newHashedReader(f, c.hashKey, p.Size, p.Hash, 0, p.Size, make([]byte, hashBlock))
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(io.Discard, onlyReader{hr}, make([]byte, hashBlock))
	return err
}

// files reports (and with repair removes) orphan body files and stale temp files.
func (c *checker) files() error {
	used := map[string]bool{}
	if err := c.st.db.View(func(tx *bolt.Tx) error { return c.st.referencedFiles(tx, used) }); err != nil {
		return err
	}
	err := filepath.WalkDir(c.st.dataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(c.st.dataDir, path)
		if used[filepath.ToSlash(rel)] {
			return nil
		}
		c.problem("orphan body file data/%s", filepath.ToSlash(rel))
		if c.repair {
			if err := os.Remove(path); err != nil {
				return err
			}
			c.repaired("removed orphan body file data/%s", filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return err
	}
	tmp, err := os.ReadDir(c.st.tmpDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range tmp {
		c.problem("stale temp file tmp/%s", e.Name())
		if c.repair {
			if err := os.RemoveAll(filepath.Join(c.st.tmpDir, e.Name())); err != nil {
				return err
			}
			c.repaired("removed stale temp file tmp/%s", e.Name())
		}
	}
	return nil
}
