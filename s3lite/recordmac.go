package s3lite

import (
	"context"
	"crypto/hmac"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Records are authenticated: every object record and bucket record has an HMAC-SHA256
// under a key derived from the store key (object records) or the bucket record key (bucket
// records; storekey.go), over the record's kind, bucket,
// object key and bytes, so an edited record (SSE fields removed, a size, part offset, ETag
// or Content-Type changed) and a record copied to another key or bucket are refused
// (errObjectTampered), not served. MACs live next to the records: sub-bucket "m" of each
// S3 bucket (object key -> MAC) and key "imac" for the bucket record. Once every record
// has one (migrateObjectMACs, when the store key is first had, with the marker "sys"/"macs";
// migrateBucketMACs at Open, marker "bmacs"), a record without a MAC is refused too. Upload records are not MAC'd:
// their parts are checked again when the upload completes (the body's own hashes or DARE
// authenticate its bytes); the object record made from them is.
var (
	macsBucket = []byte("m")
	infoMACKey = []byte("imac")
)

const (
	macObject = "object"
	macBucket = "bucket"
)

// recordMAC returns the MAC of a record of kind for bucket/key (key "" for a bucket record).
func recordMAC(storeKey []byte, kind, bucket, key string, v []byte) []byte {
	mk := hmacSum(storeKey, []byte("s3lite record mac v1"))
	return hmacSum(mk, []byte(kind), []byte{0}, []byte(bucket), []byte{0}, []byte(key), []byte{0}, v)
}

// macMode is how a store checks record MACs.
type macMode struct {
	key      []byte // the store key
	required bool   // the marker is set: a missing MAC is tampering
	// unchecked: the store key cannot be had now (KMS down); a listing then decodes
	// records without checking MACs (it shows sizes and ETags, never bodies: a GET of an
	// edited record still fails), as listings never needed the KMS.
	unchecked bool
}

// verify checks mac (nil: none stored) of a record.
func (mm macMode) verify(kind, bucket, key string, v, mac []byte) error {
	if mm.unchecked {
		return nil
	}
	if mac == nil {
		if mm.required {
			return fmt.Errorf("%w: the %s record carries no MAC", errObjectTampered, kind)
		}
		return nil // written before MACs; migrateMACs adds one
	}
	if !hmac.Equal(mac, recordMAC(mm.key, kind, bucket, key, v)) {
		return fmt.Errorf("%w: the %s record's MAC does not verify", errObjectTampered, kind)
	}
	return nil
}

// macs returns the MAC mode of the store, loading the store key if needed.
func (st *store) macs(ctx context.Context) (macMode, error) {
	if err := ctx.Err(); err != nil {
		return macMode{}, err
	}
	if st.keys == nil {
		return macMode{}, fmt.Errorf("%w: no store key", errInternal)
	}
	k, err := st.keys.get(ctx)
	if err != nil {
		return macMode{}, err
	}
	return macMode{key: k, required: st.macsRequired.Load()}, nil
}

// bucketMACs returns the MAC mode of bucket records.
func (st *store) bucketMACs() macMode { return macMode{key: st.bucketKey, required: true} }

// objectMACs returns the MAC bucket of bolt bucket b, created if create.
func objectMACs(b *bolt.Bucket, create bool) (*bolt.Bucket, error) {
	if mb := b.Bucket(macsBucket); mb != nil || !create {
		return mb, nil
	}
	return b.CreateBucket(macsBucket)
}

// getMAC returns the stored MAC of object key in b, nil if none.
func getMAC(b *bolt.Bucket, key string) []byte {
	if mb := b.Bucket(macsBucket); mb != nil {
		return mb.Get([]byte(key))
	}
	return nil
}

// putObjectMAC stores the MAC of record v of bucket/key in b.
func putObjectMAC(b *bolt.Bucket, storeKey []byte, bucket, key string, v []byte) error {
	mb, err := objectMACs(b, true)
	if err != nil {
		return err
	}
	return mb.Put([]byte(key), recordMAC(storeKey, macObject, bucket, key, v))
}

// migrateBucketMACs gives every bucket record that decodes and has no MAC one and sets the
// marker "bmacs", unless it is set; it runs in Open's transaction (tx).
func migrateBucketMACs(tx *bolt.Tx, key []byte) error {
	sys := tx.Bucket(sysBucket)
	if sys.Get(sysBMACsMarker) != nil {
		return nil
	}
	err := tx.Bucket(rootBucket).ForEachBucket(func(name []byte) error {
		b := tx.Bucket(rootBucket).Bucket(name)
		if v := b.Get(infoKey); v != nil && b.Get(infoMACKey) == nil {
			if _, err := decodeBucket(string(name), v); err == nil {
				return b.Put(infoMACKey, recordMAC(key, macBucket, string(name), "", slices.Clone(v)))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return sys.Put(sysBMACsMarker, []byte("1"))
}

// migrateObjectMACs gives every object record that decodes and has no MAC one, then sets
// the marker, in one transaction; a store with the marker is left alone (a MAC stripped
// later is refused, never restored). It runs once the store key is first had.
func (st *store) migrateObjectMACs(storeKey []byte) error {
	err := st.db.Update(func(tx *bolt.Tx) error {
		sys, err := tx.CreateBucketIfNotExists(sysBucket)
		if err != nil {
			return err
		}
		if sys.Get(sysMACsMarker) != nil {
			return nil
		}
		err = tx.Bucket(rootBucket).ForEachBucket(func(name []byte) error {
			b := tx.Bucket(rootBucket).Bucket(name)
			ob := b.Bucket(objectsBucket)
			if ob == nil {
				return nil
			}
			type rec struct{ k, v []byte }
			var todo []rec
			_ = ob.ForEach(func(k, v []byte) error {
				if getMAC(b, string(k)) == nil {
					if _, err := decodeObject(string(k), v); err == nil {
						todo = append(todo, rec{slices.Clone(k), slices.Clone(v)})
					}
				}
				return nil
			})
			for _, r := range todo {
				if err := putObjectMAC(b, storeKey, string(name), string(r.k), r.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return sys.Put(sysMACsMarker, []byte("1"))
	})
	if err == nil {
		st.macsRequired.Store(true)
	}
	return err
}

// readBucket decodes and verifies the record of bucket name in b: errBucketDamaged if it
// does not.
func readBucket(b *bolt.Bucket, mm macMode, name string) (bucketInfo, error) {
	v := b.Get(infoKey)
	bi, err := decodeBucket(name, v)
	if err != nil {
		return bi, err
	}
	if err := mm.verify(macBucket, name, "", v, b.Get(infoMACKey)); err != nil {
		return bucketInfo{Name: name}, fmt.Errorf("%w: %w", errBucketDamaged, err)
	}
	return bi, nil
}

// readObject decodes and verifies the record v of bucket/key in b.
func readObject(b *bolt.Bucket, mm macMode, bucket, key string, v []byte) (*objectMeta, error) {
	if err := mm.verify(macObject, bucket, key, v, getMAC(b, key)); err != nil {
		return nil, err
	}
	return decodeObject(key, v)
}
