package s3lite

import (
	"bytes"
	"context"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// deleteOutcome is what a delete did, for its answer's headers.
type deleteOutcome struct {
	versionID    string // the version removed or the delete marker made; "" for none
	deleteMarker bool   // a delete marker was made or removed
}

// deleteObjectVersion deletes bucket/key as the bucket's versioning state asks: with vid,
// exactly that version (the next newest becomes current; an unknown version is no error,
// as S3 answers); without, a new delete marker ("Enabled") or a null one replacing the
// null version ("Suspended"); an unversioned bucket removes the object. It returns what
// it did and the body files to remove. A version Object Lock keeps is not removed:
// errObjectLocked (bypass: the requester bypasses GOVERNANCE retention; storelock.go).
func (st *store) deleteObjectVersion(ctx context.Context, bucket, key, vid, state string, now time.Time, bypass bool) (deleteOutcome, []string, error) {
	var out deleteOutcome
	var old []string
	mm, err := st.macs(ctx)
	if err != nil {
		return out, nil, err
	}
	err = st.batch(ctx, func(tx *bolt.Tx) error {
		out, old = deleteOutcome{}, nil // Batch may run fn more than once
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		if vid != "" {
			out, old, err = st.removeVersion(b, mm, bucket, key, vid, now, bypass)
			return err
		}
		var cur *objectMeta
		raw := b.Bucket(objectsBucket).Get([]byte(key))
		if raw != nil {
			cur, _ = readObject(b, mm, bucket, key, raw)
		}
		if state == "" && (cur == nil || cur.Version == "") {
			switch {
			case raw == nil:
				return nil
			case cur == nil: // damaged: removed all the same, its files left to the sweep
				return deleteCurrent(b, key)
			}
			old, err = st.removeCurrent(b, mm, bucket, cur)
			return err
		}
		if state == "" {
			state = versioningSuspended
		}
		dm := &objectMeta{Key: key, ModTime: now, DeleteMarker: true}
		if old, err = st.commitVersion(b, mm, bucket, dm, cur, state); err != nil {
			return err
		}
		out = deleteOutcome{versionID: dm.versionID(), deleteMarker: true}
		return nil
	})
	return out, old, err
}

// deleteCurrent removes the current record of key and its MAC.
func deleteCurrent(b *bolt.Bucket, key string) error {
	if mb := b.Bucket(macsBucket); mb != nil {
		if err := mb.Delete([]byte(key)); err != nil {
			return err
		}
	}
	return b.Bucket(objectsBucket).Delete([]byte(key))
}

// removeVersion removes version vid of key unless Object Lock keeps it at now; the
// current one's place goes to the newest noncurrent version.
func (st *store) removeVersion(b *bolt.Bucket, mm macMode, bucket, key, vid string, now time.Time, bypass bool) (deleteOutcome, []string, error) {
	m, at, err := st.findVersion(b, mm, bucket, key, vid)
	if err != nil {
		if errors.Is(err, errNoSuchVersion) {
			return deleteOutcome{versionID: vid}, nil, nil
		}
		return deleteOutcome{}, nil, err
	}
	if err := m.Lock.removable(now, bypass); err != nil {
		return deleteOutcome{}, nil, err
	}
	out := deleteOutcome{versionID: vid, deleteMarker: m.DeleteMarker}
	if at != nil {
		return out, files(m.Parts), deleteNoncurrent(b, at)
	}
	old, err := st.removeCurrent(b, mm, bucket, m)
	return out, old, err
}

// removeCurrent removes cur, the current record of its key, and makes the newest
// noncurrent version current; it returns cur's files.
func (st *store) removeCurrent(b *bolt.Bucket, mm macMode, bucket string, cur *objectMeta) ([]string, error) {
	if err := deleteCurrent(b, cur.Key); err != nil {
		return nil, err
	}
	var next *objectMeta
	var at []byte
	st.eachNoncurrent(b, mm, bucket, cur.Key, func(k []byte, nm *objectMeta) bool {
		next, at = nm, bytes.Clone(k)
		return false
	})
	if next != nil {
		next.Noncurrent = time.Time{}
		if err := deleteNoncurrent(b, at); err != nil {
			return nil, err
		}
		if err := putCurrent(b, mm, bucket, next); err != nil {
			return nil, err
		}
	}
	return files(cur.Parts), nil
}
