package s3lite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
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
// JSON, part number (4 bytes BE) -> partMeta JSON); noncurrent object versions are in
// sub-buckets "v" and "vm" (storeversion.go).
var (
	rootBucket    = []byte("b")
	infoKey       = []byte("info")
	objectsBucket = []byte("o")
	uploadsBucket = []byte("u")
	// damagedBucket (at the top level, next to rootBucket) holds the records Check's
	// repair moved aside: "<bucket>/<key>" -> the record as it was.
	damagedBucket = []byte("damaged")
)

// Object and part commits use bolt's Batch, which coalesces concurrent
// commits into one fsync; their functions are idempotent as Batch requires.
type store struct {
	db      *bolt.DB
	dataDir string
	tmpDir  string
	dmg     *damageLog // names damaged records once; nil logs nothing
	keys    *keyring   // the store key, for object record MACs; set by Open
	// bucketKey is the bucket record key (storekey.go).
	bucketKey []byte
	// macsRequired is the "sys"/"macs" marker: every record has a MAC.
	macsRequired atomic.Bool
	// now is the time of Object Lock checks without a request (storelock.go); nil: time.Now.
	now func() time.Time
	// trash is removeFiles' queue of committed bodies no record names any more, which
	// remover unlinks off the request path (storefile.go); close drains it.
	trash       chan string
	trashMu     sync.RWMutex // removeFiles holds it to send; close, to close trash
	trashClosed bool
	trashed     sync.WaitGroup // the queued bodies not yet unlinked
	removerDone chan struct{}
}

// bucketInfo is a bucket's record.
type bucketInfo struct {
	Name       string     `json:"-"`
	Created    time.Time  `json:"created"`
	Encryption *bucketSSE `json:"sse,omitempty"`
	// CORS is the bucket's CORS configuration (cors.go); nil: none.
	CORS *corsConfiguration `json:"cors,omitempty"`
	// Lifecycle is the bucket's lifecycle configuration (lifecycle.go); nil: none.
	Lifecycle *lifecycleConfiguration `json:"lc,omitempty"`
	// Policy is the bucket policy as put (served back byte for byte); "" none.
	Policy string `json:"policy,omitempty"`
	// PolicyLocksOwner: the policy was put with x-amz-confirm-remove-self-bucket-access,
	// so its Deny statements bind the owner on the bucket policy operations too.
	PolicyLocksOwner bool `json:"policyLock,omitempty"`
	// ACL is the bucket's ACL; nil is the default (owner FULL_CONTROL).
	ACL *[]aclGrant `json:"acl,omitempty"`
	// Ownership is the ObjectOwnership of the bucket's ownership controls; "" none.
	Ownership string `json:"own,omitempty"`
	// PublicAccess is the bucket's public access block; nil none.
	PublicAccess *publicAccessBlock `json:"pab,omitempty"`
	// Versioning is "" (never configured), "Enabled" or "Suspended" (storeversion.go).
	Versioning string `json:"ver,omitempty"`
	// Tags is the bucket tagging (tagging.go); nil: none.
	Tags map[string]string `json:"tags,omitempty"`
	// ObjectLock is the bucket's Object Lock configuration (objectlock.go); nil: Object
	// Lock is not enabled.
	ObjectLock *objectLockConfiguration `json:"olock,omitempty"`
	// Logging is the bucket's server access logging configuration (logging.go); nil: off.
	Logging *bucketLogging `json:"log,omitempty"`
}

// bucketSSE is a bucket's default encryption.
type bucketSSE struct {
	Algorithm string `json:"alg"` // "AES256" or "aws:kms"
	KeyID     string `json:"key,omitempty"`
	ARN       bool   `json:"arn,omitempty"` // KeyID was given as "arn:aws:kms:<id>" and is echoed so
}

// openStore opens (creating if needed) the store under dir, empties tmp/ and
// removes body files no record refers to.
func openStore(ctx context.Context, dir string, dmg *damageLog) (*store, error) {
	st := &store{dataDir: filepath.Join(dir, "data"), tmpDir: filepath.Join(dir, "tmp"), dmg: dmg}
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
		if _, err := tx.CreateBucketIfNotExists(rootBucket); err != nil {
			return err
		}
		k, err := bucketRecordKey(tx)
		if err != nil {
			return err
		}
		st.bucketKey = k
		if tx.Bucket(sysBucket).Get(sysMACsMarker) != nil {
			st.macsRequired.Store(true)
		}
		return migrateBucketMACs(tx, k)
	}); err != nil {
		db.Close()
		return nil, err
	}
	if err := st.sweep(ctx); err != nil {
		db.Close()
		return nil, err
	}
	st.trash, st.removerDone = make(chan string, trashQueue), make(chan struct{})
	go st.remover()
	return st, nil
}

// close unlinks the bodies still queued for removal and closes the metadata.
func (st *store) close() error {
	st.trashMu.Lock()
	if st.trash != nil && !st.trashClosed {
		st.trashClosed = true
		close(st.trash)
	}
	st.trashMu.Unlock()
	if st.removerDone != nil {
		<-st.removerDone
	}
	return st.db.Close()
}

// The metadata methods take the request's context: a request that has gone away neither
// waits for bolt's writer lock nor changes anything. Once a transaction runs it finishes
// (bolt transactions cannot be interrupted). tempFile, openFile (one open and stat) and
// removeFiles (clean-up that must run to its end) take none.

// view runs fn in a read transaction unless ctx is done.
func (st *store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return st.db.View(fn)
}

// update runs fn in a write transaction unless ctx is done.
func (st *store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return st.db.Update(fn)
}

// batch runs fn in a batched write transaction (see [bolt.DB.Batch]) unless ctx is done.
func (st *store) batch(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return st.db.Batch(fn)
}

// bucketOf returns the bolt bucket of S3 bucket name, or errNoSuchBucket.
func bucketOf(tx *bolt.Tx, name string) (*bolt.Bucket, error) {
	b := tx.Bucket(rootBucket).Bucket([]byte(name))
	if b == nil {
		return nil, errNoSuchBucket
	}
	return b, nil
}

// createBucket creates bucket name, or fails with errBucketExists.
func (st *store) createBucket(ctx context.Context, name string, now time.Time) error {
	mm := st.bucketMACs()
	return st.update(ctx, func(tx *bolt.Tx) error {
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
		if _, err := b.CreateBucket(macsBucket); err != nil {
			return err
		}
		v, _ := json.Marshal(bucketInfo{Created: now})
		if err := b.Put(infoMACKey, recordMAC(mm.key, macBucket, name, "", v)); err != nil {
			return err
		}
		return b.Put(infoKey, v)
	})
}

// deleteBucket removes an empty bucket, aborting its uploads; it returns
// the part files to remove.
func (st *store) deleteBucket(ctx context.Context, name string) ([]string, error) {
	var old []string
	err := st.update(ctx, func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, name)
		if err != nil {
			return err
		}
		if k, _ := b.Bucket(objectsBucket).Cursor().First(); k != nil {
			return errBucketNotEmpty
		}
		if vb := b.Bucket(versionsBucket); vb != nil {
			if k, _ := vb.Cursor().First(); k != nil {
				return errBucketNotEmpty
			}
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

// getBucket returns the record of bucket name, or errNoSuchBucket, or errBucketDamaged
// (the bucket exists, its record is damaged).
func (st *store) getBucket(ctx context.Context, name string) (bucketInfo, error) {
	bi := bucketInfo{Name: name}
	mm := st.bucketMACs()
	err := st.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, name)
		if err != nil {
			return err
		}
		bi, err = readBucket(b, mm, name)
		return err
	})
	if errors.Is(err, errBucketDamaged) {
		st.dmg.report(name, "", err)
	}
	return bi, err
}

// bucketExists returns nil if bucket name exists, damaged record or not, else
// errNoSuchBucket.
func (st *store) bucketExists(ctx context.Context, name string) error {
	if _, err := st.getBucket(ctx, name); err != nil && !errors.Is(err, errBucketDamaged) {
		return err
	}
	return nil
}

// listBuckets returns every bucket record in name order; a bucket whose record is damaged
// is listed by its name alone.
func (st *store) listBuckets(ctx context.Context) ([]bucketInfo, error) {
	var out []bucketInfo
	mm := st.bucketMACs()
	err := st.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(rootBucket).ForEachBucket(func(name []byte) error {
			bi, err := readBucket(tx.Bucket(rootBucket).Bucket(name), mm, string(name))
			if err != nil {
				st.dmg.report(string(name), "", err)
			}
			out = append(out, bi)
			return nil
		})
	})
	return out, err
}

// setBucketEncryption sets (nil: removes) the default encryption of bucket
// name, or fails with errNoSuchBucket.
func (st *store) setBucketEncryption(ctx context.Context, name string, cfg *bucketSSE) error {
	return st.updateBucket(ctx, name, func(bi *bucketInfo) error {
		bi.Encryption = cfg
		return nil
	})
}

// updateBucket rewrites the record of bucket name with what fn makes of it, or fails with
// errNoSuchBucket or fn's error (then nothing changes). Every bucket setting (encryption,
// versioning, policy, tags, ...) is written through here.
func (st *store) updateBucket(ctx context.Context, name string, fn func(*bucketInfo) error) error {
	mm := st.bucketMACs()
	return st.update(ctx, func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, name)
		if err != nil {
			return err
		}
		// A damaged record is replaced: this is how its bucket is repaired.
		bi, _ := readBucket(b, mm, name)
		if err := fn(&bi); err != nil {
			return err
		}
		v, _ := json.Marshal(bi)
		if err := b.Put(infoMACKey, recordMAC(mm.key, macBucket, name, "", v)); err != nil {
			return err
		}
		return b.Put(infoKey, v)
	})
}
