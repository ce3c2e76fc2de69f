package s3lite

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Object versions. A bucket's versioning state is bucketInfo.Versioning: "" (never
// configured), "Enabled" or "Suspended". Sub-bucket "o" keeps the current record of each
// key, which may be a delete marker; noncurrent versions live in sub-bucket "v" under
// key 0x00 sortKey, so a cursor gives keys ascending and, within a key, newest first
// (object keys never hold 0x00). Their MACs (kind "version", bound to bucket, key and
// sort key) live in sub-bucket "vm" under the same key. Invariant: a key with noncurrent
// versions has a current record, so listings and DeleteBucket walk "o" alone.
//
// The sort key of a version is its Version field: 16 bytes (max uint64 minus the write's
// Unix nanoseconds, then 8 random bytes) in lowercase base32hex, 26 characters, which is
// also the version id clients see unless the version is the "null" one (written while
// versioning was suspended, NullVersion). A record written while the bucket was never
// versioned has no Version: it is the null version and the oldest of its key (sort key
// "~", after every id). Each version is its own record with its own sealed object key and
// body files: removing a version removes only those.
var (
	versionsBucket    = []byte("v")
	versionMACsBucket = []byte("vm")
	versionEncoding   = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)
)

const (
	versioningEnabled   = "Enabled"
	versioningSuspended = "Suspended"
	nullVersionID       = "null"
	unversionedSortKey  = "~"
	versionIDLen        = 26
	macVersion          = "version"
)

// deleteMarkerError is the answer to reading a key whose current version is a delete
// marker: errNoSuchKey to every caller, with the marker's version id for the headers.
type deleteMarkerError struct{ versionID string }

func (e *deleteMarkerError) Error() string     { return "the current version is a delete marker" }
func (e *deleteMarkerError) Is(err error) bool { return err == errNoSuchKey }

// versionID is the version id clients see for m.
func (m *objectMeta) versionID() string {
	if m.Version == "" || m.NullVersion {
		return nullVersionID
	}
	return m.Version
}

// isNull reports whether m is its key's null version.
func (m *objectMeta) isNull() bool { return m.Version == "" || m.NullVersion }

func sortKeyOf(m *objectMeta) string {
	if m.Version == "" {
		return unversionedSortKey
	}
	return m.Version
}

// versionRecordKey is the key of a noncurrent version in sub-bucket "v".
func versionRecordKey(key, sortKey string) []byte {
	return append(append([]byte(key), 0), sortKey...)
}

// validVersionID reports whether id could be a version id of this store.
func validVersionID(id string) bool {
	if id == nullVersionID {
		return true
	}
	if len(id) != versionIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'v') {
			return false
		}
	}
	return true
}

// newVersion returns a fresh version sort key for a write at now that sorts before
// newest, the key's current sort key ("" if none): a clock that did not move on still
// orders versions by write.
func newVersion(now time.Time, newest string) (string, error) {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], math.MaxUint64-uint64(now.UnixNano()))
	if _, err := rand.Read(b[8:]); err != nil {
		return "", err
	}
	id := versionEncoding.EncodeToString(b[:])
	if len(newest) != versionIDLen || id < newest {
		return id, nil
	}
	nb, err := versionEncoding.DecodeString(newest)
	if err != nil || len(nb) != 16 {
		return id, nil
	}
	for i := len(nb) - 1; i >= 0; i-- { // nb - 1
		nb[i]--
		if nb[i] != 0xff {
			break
		}
	}
	return versionEncoding.EncodeToString(nb), nil
}

// commitObject makes m the current record of its key in bolt bucket b of bucket, under
// the versioning state m.versioning; cur is the current record (nil if none or damaged)
// and v is m marshaled (used as is when the bucket is unversioned). It returns the body
// files no record refers to any more.
func (st *store) commitObject(b *bolt.Bucket, mm macMode, bucket string, m *objectMeta, v []byte, cur *objectMeta) ([]string, error) {
	if m.versioning == "" && (cur == nil || cur.Version == "") {
		if err := putObjectMAC(b, mm.key, bucket, m.Key, v); err != nil {
			return nil, err
		}
		var old []string
		if cur != nil {
			old = files(cur.Parts)
		}
		return old, b.Bucket(objectsBucket).Put([]byte(m.Key), v)
	}
	state := m.versioning
	if state == "" { // read before versioning was configured, which it is now
		state = versioningSuspended
	}
	return st.commitVersion(b, mm, bucket, m, cur, state)
}

// commitVersion makes m (an object or a delete marker) a new version, the current one,
// of its key: under "Enabled" with a fresh id, under "Suspended" as the null version,
// which replaces the previous null version.
func (st *store) commitVersion(b *bolt.Bucket, mm macMode, bucket string, m, cur *objectMeta, state string) ([]string, error) {
	newest := ""
	if cur != nil {
		newest = cur.Version
	}
	var err error
	if m.Version, err = newVersion(m.ModTime, newest); err != nil {
		return nil, err
	}
	m.NullVersion = state == versioningSuspended
	var old []string
	if cur != nil {
		if m.NullVersion && cur.isNull() {
			old = files(cur.Parts)
		} else if err := putNoncurrent(b, mm, bucket, cur, m.ModTime); err != nil {
			return nil, err
		}
	}
	if m.NullVersion {
		gone, err := st.removeNoncurrentNull(b, mm, bucket, m.Key)
		if err != nil {
			return nil, err
		}
		old = append(old, gone...)
	}
	return old, putCurrent(b, mm, bucket, m)
}

// putCurrent writes m as the current record of its key, with its MAC.
func putCurrent(b *bolt.Bucket, mm macMode, bucket string, m *objectMeta) error {
	v, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := putObjectMAC(b, mm.key, bucket, m.Key, v); err != nil {
		return err
	}
	return b.Bucket(objectsBucket).Put([]byte(m.Key), v)
}

// putNoncurrent writes m as a noncurrent version, noncurrent since since.
func putNoncurrent(b *bolt.Bucket, mm macMode, bucket string, m *objectMeta, since time.Time) error {
	m.Noncurrent = since
	v, err := json.Marshal(m)
	if err != nil {
		return err
	}
	vb, err := b.CreateBucketIfNotExists(versionsBucket)
	if err != nil {
		return err
	}
	mb, err := b.CreateBucketIfNotExists(versionMACsBucket)
	if err != nil {
		return err
	}
	k := versionRecordKey(m.Key, sortKeyOf(m))
	if err := mb.Put(k, recordMAC(mm.key, macVersion, bucket, string(k), v)); err != nil {
		return err
	}
	return vb.Put(k, v)
}

// deleteNoncurrent removes the noncurrent record under k and its MAC.
func deleteNoncurrent(b *bolt.Bucket, k []byte) error {
	if mb := b.Bucket(versionMACsBucket); mb != nil {
		if err := mb.Delete(k); err != nil {
			return err
		}
	}
	return b.Bucket(versionsBucket).Delete(k)
}

// readVersion decodes and verifies the noncurrent record v stored under k in b: its MAC
// (always required) binds it to bucket, key and sort key.
func readVersion(b *bolt.Bucket, mm macMode, bucket string, k, v []byte) (*objectMeta, error) {
	i := bytes.LastIndexByte(k, 0)
	if i < 0 {
		return nil, fmt.Errorf("%w: a version record under a key without a version", errObjectTampered)
	}
	var mac []byte
	if mb := b.Bucket(versionMACsBucket); mb != nil {
		mac = mb.Get(k)
	}
	mm.required = true
	if err := mm.verify(macVersion, bucket, string(k), v, mac); err != nil {
		return nil, err
	}
	m, err := decodeObject(string(k[:i]), v)
	if err != nil {
		return nil, err
	}
	if sortKeyOf(m) != string(k[i+1:]) {
		return nil, fmt.Errorf("%w: the version record is not under its version", errObjectTampered)
	}
	return m, nil
}

// eachNoncurrent calls fn with the noncurrent versions of key in b, newest first, until
// fn returns false; damaged ones are reported and left out.
func (st *store) eachNoncurrent(b *bolt.Bucket, mm macMode, bucket, key string, fn func(k []byte, m *objectMeta) bool) {
	vb := b.Bucket(versionsBucket)
	if vb == nil {
		return
	}
	prefix := versionRecordKey(key, "")
	c := vb.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		m, err := readVersion(b, mm, bucket, k, v)
		if err != nil {
			st.dmg.report(bucket, versionName(k), err)
			continue
		}
		if !fn(k, m) {
			return
		}
	}
}

// removeNoncurrentNull removes the noncurrent null version of key, if any, returning its
// files.
func (st *store) removeNoncurrentNull(b *bolt.Bucket, mm macMode, bucket, key string) ([]string, error) {
	var hit []byte
	var old []string
	st.eachNoncurrent(b, mm, bucket, key, func(k []byte, m *objectMeta) bool {
		if m.isNull() {
			hit, old = bytes.Clone(k), files(m.Parts)
			return false
		}
		return true
	})
	if hit == nil {
		return nil, nil
	}
	return old, deleteNoncurrent(b, hit)
}

// findVersion returns the record of version vid of key in b and, for a noncurrent one,
// its key in "v" (nil for the current record); errNoSuchVersion if there is none.
func (st *store) findVersion(b *bolt.Bucket, mm macMode, bucket, key, vid string) (*objectMeta, []byte, error) {
	var damaged error
	if raw := b.Bucket(objectsBucket).Get([]byte(key)); raw != nil {
		cur, err := readObject(b, mm, bucket, key, raw)
		if err != nil {
			damaged = err
		} else if cur.versionID() == vid {
			return cur, nil, nil
		}
	}
	var found *objectMeta
	var at []byte
	if vid != nullVersionID {
		if vb := b.Bucket(versionsBucket); vb != nil {
			k := versionRecordKey(key, vid)
			if v := vb.Get(k); v != nil {
				m, err := readVersion(b, mm, bucket, k, v)
				if err != nil {
					return nil, nil, err
				}
				if !m.NullVersion {
					found, at = m, k
				}
			}
		}
	} else {
		st.eachNoncurrent(b, mm, bucket, key, func(k []byte, m *objectMeta) bool {
			if m.isNull() {
				found, at = m, bytes.Clone(k)
				return false
			}
			return true
		})
	}
	switch {
	case found != nil:
		return found, at, nil
	case damaged != nil:
		return nil, nil, damaged
	}
	return nil, nil, errNoSuchVersion
}

// getObjectVersion returns version vid of bucket/key, delete markers included, or
// errNoSuchBucket, errNoSuchVersion or errObjectTampered.
func (st *store) getObjectVersion(ctx context.Context, bucket, key, vid string) (*objectMeta, error) {
	mm, err := st.macs(ctx)
	if err != nil {
		return nil, err
	}
	var m *objectMeta
	err = st.view(ctx, func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, bucket)
		if err != nil {
			return err
		}
		m, _, err = st.findVersion(b, mm, bucket, key, vid)
		return err
	})
	return m, err
}
