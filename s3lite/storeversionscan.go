package s3lite

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// versionName names the noncurrent record under k for logs and reports:
// "key?versionId=sortKey".
func versionName(k []byte) string {
	i := bytes.LastIndexByte(k, 0)
	if i < 0 {
		return string(k)
	}
	return string(k[:i]) + "?versionId=" + string(k[i+1:])
}

// scanVersions calls fn with every version of the objects with prefix, keys ascending
// and newest first within a key (latest: the current version), starting after
// keyMarker (after its version vidMarker, if not ""), until fn returns false. Damaged
// records are left out, as in listings of objects.
func (st *store) scanVersions(ctx context.Context, bucket, prefix, keyMarker, vidMarker string, fn func(m *objectMeta, latest bool) bool) error {
	mm, err := st.listingMACs(ctx)
	if err != nil {
		return err
	}
	return st.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		c := b.Bucket(objectsBucket).Cursor()
		start := max(prefix, keyMarker)
		for k, v := c.Seek([]byte(start)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
			key := string(k)
			if key == keyMarker && vidMarker == "" {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			skipping := key == keyMarker // until vidMarker has gone by
			more := true
			emit := func(m *objectMeta, latest bool) {
				switch {
				case !skipping:
					more = fn(m, latest)
				case m.versionID() == vidMarker:
					skipping = false
				}
			}
			if m, err := readObject(b, mm, bucket, key, v); err != nil {
				st.dmg.report(bucket, key, err)
			} else {
				emit(m, true)
			}
			if more {
				st.eachNoncurrent(b, mm, bucket, key, func(_ []byte, m *objectMeta) bool {
					emit(m, false)
					return more
				})
			}
			if !more {
				return nil
			}
		}
		return nil
	})
}

// noncurrentVersion is one noncurrent version, as expireNoncurrent reports it.
type noncurrentVersion struct {
	VersionID  string
	Noncurrent time.Time // when a newer version replaced it
	Size       int64
}

// expireNoncurrent is for lifecycle rules (NoncurrentVersionExpiration): it removes the
// noncurrent versions of bucket/key that became noncurrent before before, except the
// keep newest noncurrent versions (NewerNoncurrentVersions; 0 keeps none), records and
// body files, and returns what it removed. With dryRun it only returns what it would
// remove. The current version is never touched, nor a version Object Lock keeps
// (storelock.go); damaged records are left to Check.
func (st *store) expireNoncurrent(ctx context.Context, bucket, key string, before time.Time, keep int, dryRun bool) ([]noncurrentVersion, error) {
	return st.expireVersions(ctx, bucket, key, dryRun, func(n int, m *objectMeta) bool {
		return n > keep && m.Noncurrent.Before(before)
	})
}

// expireVersions removes the noncurrent versions of bucket/key for which doomed is true,
// as expireNoncurrent does; doomed gets each version with its place among the key's
// noncurrent versions (1: the newest), in the same transaction as the removal.
func (st *store) expireVersions(ctx context.Context, bucket, key string, dryRun bool, doomed func(n int, m *objectMeta) bool) ([]noncurrentVersion, error) {
	mm, err := st.macs(ctx)
	if err != nil {
		return nil, err
	}
	var out []noncurrentVersion
	var old []string
	fn := func(tx *bolt.Tx) error {
		out, old = nil, nil
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		var gone [][]byte
		n := 0
		now := st.clock()
		st.eachNoncurrent(b, mm, bucket, key, func(k []byte, m *objectMeta) bool {
			n++
			if doomed(n, m) && m.Lock.removable(now, false) == nil {
				out = append(out, noncurrentVersion{VersionID: m.versionID(), Noncurrent: m.Noncurrent, Size: m.Size})
				old = append(old, files(m.Parts)...)
				gone = append(gone, bytes.Clone(k))
			}
			return true
		})
		if dryRun {
			return nil
		}
		for _, k := range gone {
			if err := deleteNoncurrent(b, k); err != nil {
				return err
			}
		}
		return nil
	}
	if dryRun {
		err = st.view(ctx, fn)
	} else {
		err = st.update(ctx, fn)
	}
	if err != nil {
		return nil, err
	}
	if !dryRun {
		st.removeFiles(old)
	}
	return out, nil
}
