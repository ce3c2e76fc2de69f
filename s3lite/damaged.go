package s3lite

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
)

// A damaged record (one that does not decode, or whose MAC does not verify) or body file
// affects only its own object or bucket: the record stays where it is, GET and HEAD of the
// object answer 500 XMinioObjectTampered, DeleteObject removes it, and listings leave it
// out, as MinIO's listing leaves out an entry whose metadata does not decode
// (metacache-entries.go: an entry whose fileInfo fails is skipped). A bucket whose record
// is damaged still lists (with no creation date), its objects still read, and it can be
// deleted; what needs its default encryption (uploads, GetBucketEncryption) answers
// errBucketDamaged until PutBucketEncryption or DeleteBucketEncryption writes a new
// record. Each damaged object or bucket is logged once per process (damageLog).

// errBucketDamaged means a bucket's own record (creation time, default encryption) does
// not decode or verify.
var errBucketDamaged = errors.New("bucket record damaged")

// bodyFileName matches the body file names commitFile makes, wherever they occur: in a
// record that no longer decodes they still say which files it refers to, and a file a
// record may refer to is never swept.
var bodyFileName = regexp.MustCompile(`[0-9a-f]{2}/[0-9a-f]{32}`)

// filesIn returns every body file name in raw, a record that may not decode.
func filesIn(raw []byte) []string {
	var out []string
	for _, m := range bodyFileName.FindAll(raw, -1) {
		if n := string(m); validFileName(n) {
			out = append(out, n)
		}
	}
	return out
}

// decodeObject decodes the record of object key; one that does not decode is
// errObjectTampered.
func decodeObject(key string, v []byte) (*objectMeta, error) {
	var m objectMeta
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, fmt.Errorf("%w: the record does not decode: %v", errObjectTampered, err)
	}
	m.Key = key
	return &m, nil
}

// decodeBucket decodes the record of bucket name; one that does not decode (or is
// missing) is errBucketDamaged.
func decodeBucket(name string, v []byte) (bucketInfo, error) {
	bi := bucketInfo{Name: name}
	if v == nil {
		return bi, fmt.Errorf("%w: the record is missing", errBucketDamaged)
	}
	if err := json.Unmarshal(v, &bi); err != nil {
		return bucketInfo{Name: name}, fmt.Errorf("%w: the record does not decode: %v", errBucketDamaged, err)
	}
	bi.Name = name
	return bi, nil
}

// damageLog names each damaged object or bucket once per process in the log, however
// often it is read.
type damageLog struct {
	seen sync.Map // "bucket\x00key" -> struct{}
	log  func(bucket, key string, err error)
}

// report logs bucket/key (key "" for the bucket's own record) the first time it is
// reported.
func (d *damageLog) report(bucket, key string, err error) {
	if d == nil || d.log == nil {
		return
	}
	if _, dup := d.seen.LoadOrStore(bucket+"\x00"+key, struct{}{}); !dup {
		d.log(bucket, key, err)
	}
}
