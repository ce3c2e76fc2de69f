package s3lite

import (
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// updateObject rewrites the record of bucket/key with what fn makes of it (fn must not
// block), keeping its MAC in step, or fails with errNoSuchBucket, errNoSuchKey,
// errObjectTampered (the record is damaged) or fn's error; then nothing changes.
// versionID names the version to change; only "" and "null" (the current object) exist
// until versions do.
func (st *store) updateObject(ctx context.Context, bucket, key, versionID string, fn func(*objectMeta) error) error {
	if versionID != "" && versionID != "null" {
		return errNoSuchVersion
	}
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
		if err := fn(m); err != nil {
			return err
		}
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
