package s3lite

import (
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// setObjectACL replaces the ACL of bucket/key (nil: the default), or fails with
// errNoSuchBucket, errNoSuchKey or errObjectTampered.
func (st *store) setObjectACL(ctx context.Context, bucket, key string, grants []aclGrant) error {
	mm, err := st.macs(ctx)
	if err != nil {
		return err
	}
	return st.batch(ctx, func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		ob := b.Bucket(objectsBucket)
		prev := ob.Get([]byte(key))
		if prev == nil {
			return errNoSuchKey
		}
		m, err := readObject(b, mm, bucket, key, prev)
		if err != nil {
			return err
		}
		m.ACL = aclRef(grants)
		v, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := putObjectMAC(b, mm.key, bucket, key, v); err != nil {
			return err
		}
		return ob.Put([]byte(key), v)
	})
}
