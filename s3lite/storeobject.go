package s3lite

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

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
	// Hash is the HighwayHash-256 of the block hash trailer of a plaintext body
	// (bodyhash.go); nil for encrypted bodies and plaintext written before block hashes.
	Hash []byte `json:"h,omitempty"`
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
	ACL          *[]aclGrant       `json:"acl,omitempty"` // nil: the default (owner FULL_CONTROL); see aclRef
	// Versions (storeversion.go): Version is the version's sort key and, unless
	// NullVersion, its id; "" for a record written while the bucket was unversioned.
	Version      string    `json:"v,omitempty"`
	NullVersion  bool      `json:"nv,omitempty"`
	DeleteMarker bool      `json:"dm,omitempty"`
	Noncurrent   time.Time `json:"nc,omitzero"` // when a newer version replaced it
	// Lock is the version's Object Lock retention and legal hold (storelock.go); nil none.
	Lock *objectLock `json:"lock,omitempty"`
	// versioning is the bucket's versioning state a write is made under; not stored.
	versioning string
	Tags       map[string]string `json:"tags,omitempty"` // object tagging (tagging.go)
}

// getObject returns the current record of bucket/key, or errNoSuchBucket, errNoSuchKey
// (a *deleteMarkerError if the current version is a delete marker) or errObjectTampered
// (the record is damaged).
func (st *store) getObject(ctx context.Context, bucket, key string) (*objectMeta, error) {
	var m *objectMeta
	mm, err := st.macs(ctx)
	if err != nil {
		return nil, err
	}
	err = st.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		v := b.Bucket(objectsBucket).Get([]byte(key))
		if v == nil {
			return errNoSuchKey
		}
		m, err = readObject(b, mm, bucket, key, v)
		if err == nil && m.DeleteMarker {
			return &deleteMarkerError{versionID: m.versionID()}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// writeCond checks a conditional write against the current object (nil if
// absent) inside the transaction; it must not block.
type writeCond func(cur *objectMeta) error

// putObject commits m if cond (may be nil) allows, as a new version if m.versioning
// asks, returning the body files no record refers to any more.
func (st *store) putObject(ctx context.Context, bucket string, m *objectMeta, cond writeCond) ([]string, error) {
	var old []string
	v, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	mm, err := st.macs(ctx)
	if err != nil {
		return nil, err
	}
	err = st.batch(ctx, func(tx *bolt.Tx) error {
		old = nil // Batch may run fn more than once
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		ob := b.Bucket(objectsBucket)
		var cur *objectMeta
		if prev := ob.Get([]byte(m.Key)); prev != nil {
			// A damaged record's files may be another object's (a swap): left to the sweep.
			if pm, err := readObject(b, mm, bucket, m.Key, prev); err == nil {
				cur = pm
			}
		}
		if cond != nil {
			if err := cond(condTarget(cur)); err != nil {
				return err
			}
		}
		old, err = st.commitObject(b, mm, bucket, m, v, cur)
		return err
	})
	return old, err
}

// condTarget is what a conditional write compares with: the current object, none if
// the current version is a delete marker.
func condTarget(cur *objectMeta) *objectMeta {
	if cur != nil && cur.DeleteMarker {
		return nil
	}
	return cur
}

// listingMACs is the MAC mode of a listing: unchecked when the store key cannot be had
// now (see macMode.unchecked); an error only when ctx is done.
func (st *store) listingMACs(ctx context.Context) (macMode, error) {
	mm, err := st.macs(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return mm, err
		}
		mm = macMode{unchecked: true}
	}
	return mm, nil
}

// scanObjects calls fn for objects with prefix and key > after, in key
// order, until fn returns false. Damaged records and delete markers are left out.
func (st *store) scanObjects(ctx context.Context, bucket, prefix, after string, fn func(*objectMeta) bool) error {
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
		start := prefix
		if after > start {
			start = after
		}
		for k, v := c.Seek([]byte(start)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
			if string(k) <= after {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err // a listing of a large bucket stops with its request
			}
			m, err := readObject(b, mm, bucket, string(k), v)
			if err != nil {
				st.dmg.report(bucket, string(k), err) // left out, as MinIO lists it
				continue
			}
			if m.DeleteMarker {
				continue
			}
			if !fn(m) {
				return nil
			}
		}
		return nil
	})
}

// updateObject runs fn on the record of version vid of bucket/key ("" the current
// version) and stores the record fn changed, with a fresh MAC, atomically: fn sees the
// version as it is when it is written and returns an error to change nothing. A delete
// marker is errNoSuchKey (current) or errMethodNotAllowed (named by vid). It returns the
// record as stored. Every change to a stored record (tags, ACL, Object Lock) goes through
// here.
func (st *store) updateObject(ctx context.Context, bucket, key, vid string, fn func(m *objectMeta) error) (*objectMeta, error) {
	mm, err := st.macs(ctx)
	if err != nil {
		return nil, err
	}
	var out *objectMeta
	err = st.update(ctx, func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		var m *objectMeta
		var at []byte
		if vid == "" {
			raw := b.Bucket(objectsBucket).Get([]byte(key))
			if raw == nil {
				return errNoSuchKey
			}
			if m, err = readObject(b, mm, bucket, key, raw); err != nil {
				return err
			}
			if m.DeleteMarker {
				return &deleteMarkerError{versionID: m.versionID()}
			}
		} else {
			if m, at, err = st.findVersion(b, mm, bucket, key, vid); err != nil {
				return err
			}
			if m.DeleteMarker {
				return withMsg(errMethodNotAllowed, "The specified method is not allowed against this resource.")
			}
		}
		if err := fn(m); err != nil {
			return err
		}
		out = m
		if at == nil {
			return putCurrent(b, mm, bucket, m)
		}
		return putNoncurrent(b, mm, bucket, m, m.Noncurrent)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
