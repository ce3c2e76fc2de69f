package s3lite

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// uploadMeta is an in-progress multipart upload.
type uploadMeta struct {
	ID           string            `json:"-"`
	Key          string            `json:"key"`
	Initiated    time.Time         `json:"init"`
	Header       map[string]string `json:"hdr,omitempty"`
	ChecksumAlgo string            `json:"cka,omitempty"`
	ChecksumType string            `json:"ckt,omitempty"`
	SSE          map[string]string `json:"sse,omitempty"`
	ACL          *[]aclGrant       `json:"acl,omitempty"`  // the completed object's ACL; see aclRef
	Tags         map[string]string `json:"tags,omitempty"` // x-amz-tagging, the object's at completion
	// Lock is the completed object's Object Lock as the upload's headers asked (the
	// bucket's default retention applies at completion if it names none).
	Lock *objectLock `json:"lock,omitempty"`
}

// partRecordKey is the bolt key of part n: 4 bytes big-endian, so parts
// iterate in number order and never collide with infoKey.
func partRecordKey(n int) []byte {
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], uint32(n))
	return k[:]
}

// createUpload records the new upload u (u.ID fresh) in bucket, or fails
// with errNoSuchBucket.
func (st *store) createUpload(ctx context.Context, bucket string, u *uploadMeta) error {
	v, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return st.update(ctx, func(tx *bolt.Tx) error {
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

// uploadOf returns the bolt bucket and record of upload id of bucket/key;
// an id that exists for another key is errNoSuchUpload too.
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
		return nil, nil, fmt.Errorf("%w: the record of upload %s does not decode: %v", errObjectTampered, id, err)
	}
	if u.Key != key {
		return nil, nil, errNoSuchUpload
	}
	u.ID = id
	return ub, &u, nil
}

// getUpload returns the upload and its parts in part number order.
func (st *store) getUpload(ctx context.Context, bucket, key, id string) (*uploadMeta, []partMeta, error) {
	var u *uploadMeta
	var parts []partMeta
	err := st.view(ctx, func(tx *bolt.Tx) error {
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
				return fmt.Errorf("%w: a part record of upload %s does not decode: %v", errObjectTampered, id, err)
			}
			parts = append(parts, p)
			return nil
		})
	})
	return u, parts, err
}

// putPart records a part, returning the file of the part it replaced.
func (st *store) putPart(ctx context.Context, bucket, key, id string, p partMeta) ([]string, error) {
	var old []string
	v, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	err = st.batch(ctx, func(tx *bolt.Tx) error {
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
func (st *store) completeUpload(ctx context.Context, bucket, id string, m *objectMeta, cond writeCond) ([]string, error) {
	var old []string
	v, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	mm, err := st.macs(ctx)
	if err != nil {
		return nil, err
	}
	err = st.update(ctx, func(tx *bolt.Tx) error {
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
			if pm, err := readObject(b, mm, bucket, m.Key, prev); err == nil {
				cur = pm
			}
		}
		if cond != nil {
			if err := cond(condTarget(cur)); err != nil {
				return err
			}
		}
		if err := b.Bucket(uploadsBucket).DeleteBucket([]byte(id)); err != nil {
			return err
		}
		gone, err := st.commitObject(b, mm, bucket, m, v, cur)
		old = append(old, gone...)
		return err
	})
	return old, err
}

// abortUpload deletes an upload and returns its part files.
func (st *store) abortUpload(ctx context.Context, bucket, key, id string) ([]string, error) {
	var old []string
	err := st.update(ctx, func(tx *bolt.Tx) error {
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
func (st *store) listUploads(ctx context.Context, bucket, prefix string) ([]uploadMeta, error) {
	var out []uploadMeta
	err := st.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		u := b.Bucket(uploadsBucket)
		return u.ForEachBucket(func(id []byte) error {
			var um uploadMeta
			if err := json.Unmarshal(u.Bucket(id).Get(infoKey), &um); err != nil {
				st.dmg.report(bucket, "upload "+string(id), err)
				return nil // left out; the sweeper and Check remove it
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
