package s3lite

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	bolt "go.etcd.io/bbolt"
)

// record is an object's bolt record as generic JSON, so tests can change
// one field without knowing the rest.
type record map[string]any

func (r record) sse() map[string]any { return r["sse"].(map[string]any) }

// flipSSE flips one bit in the middle of the base64 value of SSE field f.
func flipSSE(f string) func(record, record) {
	return func(r, _ record) {
		raw, err := base64.StdEncoding.DecodeString(r.sse()[f].(string))
		if err != nil || len(raw) == 0 {
			panic("field " + f + " is not base64")
		}
		raw[len(raw)/2] ^= 0x10
		r.sse()[f] = base64.StdEncoding.EncodeToString(raw)
	}
}

// setSSE sets SSE field f to v, or deletes it when v is nil.
func setSSE(f string, v any) func(record, record) {
	return func(r, _ record) {
		if v == nil {
			delete(r.sse(), f)
			return
		}
		r.sse()[f] = v
	}
}

// editRecords closes the server, applies edit to the bolt records of bucket
// b named in edits (the second argument is the record of "keep-<sse>" for
// the object's SSE type), and opens the server again: an attacker with
// write access to meta.db.
func editRecords(t *testing.T, e *env, b string, edits map[string]func(r, other record)) {
	t.Helper()
	e.close()
	db, err := bolt.Open(filepath.Join(e.cfg.Dir, "meta.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		ob := tx.Bucket(rootBucket).Bucket([]byte(b)).Bucket(objectsBucket)
		for k, edit := range edits {
			var r, other record
			if err := json.Unmarshal(ob.Get([]byte(k)), &r); err != nil {
				return err
			}
			typ, _, _ := strings.Cut(k, "-")
			if err := json.Unmarshal(ob.Get([]byte("keep-"+typ)), &other); err != nil {
				return err
			}
			edit(r, other)
			v, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := ob.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	e.open()
}

// swapRecord replaces r's body and encryption metadata with other's.
func swapRecord(r, other record) {
	for _, f := range []string{"sse", "parts", "size", "etag"} {
		r[f] = other[f]
	}
}

// parts returns the part records of r.
func (r record) parts() []map[string]any {
	var out []map[string]any
	for _, p := range r["parts"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

// storedSize is the body file size a record claims for plaintext size s:
// s itself, or its DARE size if the record has encryption metadata.
func (r record) storedSize(s float64) float64 {
	if _, ok := r["sse"]; ok {
		return float64(encryptedSize(int64(s)))
	}
	return s
}

// resize changes the size of the record's last part by delta (to 0 if
// toZero), and the object's size and the part's stored size along with it:
// the record stays consistent with itself, only the body file's size on
// disk tells.
func resize(delta float64, toZero bool) func(record, record) {
	return func(r, _ record) {
		parts := r.parts()
		p := parts[len(parts)-1]
		old := p["s"].(float64)
		if toZero {
			delta = -old
		}
		p["s"] = old + delta
		p["es"] = r.storedSize(old + delta)
		r["size"] = r["size"].(float64) + delta
	}
}

// dropSSE removes the encryption metadata, so that the record says
// plaintext; consistent also sets every part's stored size to its
// plaintext size, as a plaintext record has it.
func dropSSE(consistent bool) func(record, record) {
	return func(r, _ record) {
		delete(r, "sse")
		if consistent {
			for _, p := range r.parts() {
				p["es"] = p["s"]
			}
		}
	}
}

// forgeManyParts stores a plaintext object of maxPreopen+8 parts of 1 KiB
// straight through the store (S3's 5 MiB minimum part size would make such
// an object take 1.3 GiB), so that a read opens its last parts only while
// the response streams.
func forgeManyParts(t *testing.T, e *env, b, k string) []byte {
	t.Helper()
	const nParts, partSize = maxPreopen + 8, 1024
	data := randBytes(nParts * partSize)
	e.forgeMultipart(t, b, k, data, partSize, "forged-2")
	return data
}

// TestTamperedMetadata changes the records of stored objects in meta.db (sealed object
// key, IV, key id, sealed data key, context, ETag, Content-Type, sizes and part offsets,
// the encryption metadata as a whole, another object's record copied over) for plaintext,
// SSE-S3, SSE-KMS, SSE-C and multipart objects. The record's MAC no longer verifies, so
// every GET, range GET, HEAD and CopyObject answers 500 XMinioObjectTampered before it
// reads a body or asks the KMS, listings leave the edited records out (as MinIO leaves out
// entries whose metadata does not decode), and every other object is unaffected. The
// checks behind the MAC (sealed keys, KMS context, body sizes, block hashes) are exercised
// by TestTamperedBodies and by the tests of a store written before MACs.
func TestTamperedMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("tampermeta")
	kmsCtx := base64.StdEncoding.EncodeToString([]byte(`{"team":"storage"}`))
	otherCtx := base64.StdEncoding.EncodeToString([]byte(`{"team":"storagf"}`))
	const tampered = "XMinioObjectTampered"
	setHeader := func(h, v string) func(record, record) {
		return func(r, _ record) {
			hdr, _ := r["hdr"].(map[string]any)
			if hdr == nil {
				hdr = map[string]any{}
				r["hdr"] = hdr
			}
			hdr[h] = v
		}
	}
	// shiftParts moves one byte from the first part to the second: the sizes still add
	// up, a range would read from the wrong offset.
	shiftParts := func(r, _ record) {
		ps := r.parts()
		ps[0]["s"] = ps[0]["s"].(float64) + 1
		ps[0]["es"] = r.storedSize(ps[0]["s"].(float64))
		ps[1]["s"] = ps[1]["s"].(float64) - 1
		ps[1]["es"] = r.storedSize(ps[1]["s"].(float64))
	}
	wholeRecord := func(r, other record) {
		for k := range r {
			delete(r, k)
		}
		for k, v := range other {
			r[k] = v
		}
	}
	cases := []struct {
		name, sse string // sse: plain, s3, kms, c, mp (SSE-KMS multipart), mp2 (SSE-S3, 5 MiB + 70000), pmp2 (plaintext, same), many (plaintext, forgeManyParts)
		edit      func(r, other record)
	}{
		{"s3-sealed-key", "s3", flipSSE(metaS3Sealed)},
		{"s3-sealed-key-not-base64", "s3", setSSE(metaS3Sealed, "!!not base64!!")},
		{"s3-iv", "s3", flipSSE(metaIV)},
		{"s3-iv-short", "s3", setSSE(metaIV, base64.StdEncoding.EncodeToString(make([]byte, 16)))},
		{"s3-sealed-data-key", "s3", flipSSE(metaKEKSealed)},
		{"s3-key-id", "s3", setSSE(metaKeyID, "minio-key-2")},
		{"s3-record-of-other-object", "s3", swapRecord},
		{"s3-whole-record-of-other-object", "s3", wholeRecord},
		{"s3-etag", "s3", func(r, _ record) { r["etag"] = "00112233445566778899aabbccddeeff" }},
		{"kms-sealed-key", "kms", flipSSE(metaKMSSealed)},
		{"kms-context", "kms", setSSE(metaContext, otherCtx)},
		{"kms-context-removed", "kms", setSSE(metaContext, nil)},
		{"kms-etag", "kms", func(r, _ record) { r["etag"] = "ffeeddccbbaa99887766554433221100" }},
		{"c-sealed-key", "c", flipSSE(metaCSealed)},
		{"c-record-of-other-object", "c", swapRecord},
		{"c-sse-removed", "c", dropSSE(true)},
		{"mp-sealed-key", "mp", flipSSE(metaKMSSealed)},
		{"plain-etag", "plain", func(r, _ record) { r["etag"] = "00112233445566778899aabbccddeeff" }},
		{"plain-content-type", "plain", setHeader("Content-Type", "text/html")},
		{"plain-record-of-other-object", "plain", wholeRecord},
		{"plain-size-lowered", "plain", resize(-1000, false)},
		{"plain-size-lowered-by-one", "plain", resize(-1, false)},
		{"plain-size-raised", "plain", resize(1000, false)},
		{"plain-size-zero", "plain", resize(0, true)},
		{"plain-object-size-only", "plain", func(r, _ record) { r["size"] = r["size"].(float64) - 1000 }},
		{"plain-stored-size", "plain", func(r, _ record) { r.parts()[0]["es"] = float64(1) }},
		{"plain-hash-removed", "plain", func(r, _ record) { delete(r.parts()[0], "h") }},
		{"s3-sse-removed", "s3", dropSSE(true)},
		{"s3-sse-removed-stored-size-kept", "s3", dropSSE(false)},
		{"s3-size-lowered", "s3", resize(-1, false)},
		{"s3-size-zero", "s3", resize(0, true)},
		{"c-size-raised", "c", resize(1000, false)},
		{"mp-sse-removed", "mp", dropSSE(true)},
		{"mp2-part-offset", "mp2", shiftParts},
		{"mp2-sse-removed", "mp2", dropSSE(true)},
		{"pmp2-part-offset", "pmp2", shiftParts},
		{"pmp2-last-lowered", "pmp2", resize(-1000, false)},
		{"many-last-part-raised", "many", resize(1, false)},
	}
	data := map[string][]byte{}
	mp2First := randBytes(5 << 20)
	put := func(k, sse string) {
		body := randBytes(70000)
		data[k] = body
		switch sse {
		case "mp":
			awsMultipart(t, e, b, k, [][]byte{body}, types.ServerSideEncryptionAwsKms, false)
			return
		case "mp2", "pmp2":
			data[k] = append(slices.Clip(mp2First), body...)
			st := types.ServerSideEncryptionAes256
			if sse == "pmp2" {
				st = ""
			}
			awsMultipart(t, e, b, k, [][]byte{mp2First, body}, st, false)
			return
		case "many":
			data[k] = forgeManyParts(t, e, b, k)
			return
		}
		in := withSSE(&s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: bytes.NewReader(body)}, sse, kmsCtx)
		if _, err := e.s3.PutObject(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	keep := map[string]string{"keep-s3": "s3", "keep-kms": "kms", "keep-c": "c", "keep-mp": "mp", "keep-mp2": "mp2", "keep-pmp2": "pmp2", "keep-plain": "plain", "keep-many": "many"}
	for k, sse := range keep {
		put(k, sse)
	}
	edits := map[string]func(r, other record){}
	for _, tc := range cases {
		put(tc.name, tc.sse)
		edits[tc.name] = tc.edit
	}
	// A swapped record drops the reference to its own body file, which
	// Open then sweeps as an orphan.
	files := countDataFiles(t, e) - 4
	editRecords(t, e, b, edits)

	// getRange reads k (rng "" = whole) with the SSE-C key if withKey.
	getRange := func(k, rng string, withKey bool) ([]byte, error) {
		in := &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)}
		if rng != "" {
			in.Range = aws.String(rng)
		}
		if withKey {
			in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = ssecHeaders()
		}
		out, err := e.s3.GetObject(ctx, in)
		if err != nil {
			return nil, err
		}
		defer out.Body.Close()
		var buf bytes.Buffer
		_, err = buf.ReadFrom(out.Body)
		return buf.Bytes(), err
	}
	// headStatus answers the status of a HEAD of k (HEAD errors carry no
	// code), with the SSE-C key if withKey.
	headStatus := func(k string, withKey bool) int {
		in := &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k)}
		if withKey {
			in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = ssecHeaders()
		}
		if _, err := e.s3.HeadObject(ctx, in); err != nil {
			_, status := apiStatus(err)
			return status
		}
		return 200
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			withKey := tc.sse == "c"
			for _, rng := range []string{"", "bytes=100-199", "bytes=66000-66099", "bytes=5242980-5243079", "bytes=-100"} {
				got, err := getRange(tc.name, rng, withKey)
				if code, status := apiStatus(err); code != tampered || status != 500 || got != nil {
					t.Errorf("GET %q: %v (%d bytes), want %s (500)", rng, err, len(got), tampered)
				}
			}
			if st := headStatus(tc.name, withKey); st != 500 {
				t.Errorf("HEAD: %d, want 500", st)
			}
			in := &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy-of-" + tc.name), CopySource: aws.String(b + "/" + tc.name)}
			if withKey {
				in.CopySourceSSECustomerAlgorithm, in.CopySourceSSECustomerKey, in.CopySourceSSECustomerKeyMD5 = ssecHeaders()
			}
			if _, err := e.s3.CopyObject(ctx, in); s3Code(err) != tampered {
				t.Errorf("copy: %v, want %s", err, tampered)
			}
		})
	}
	// Listings leave the edited records out.
	var listed []string
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String(b), MaxKeys: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, o := range page.Contents {
			listed = append(listed, aws.ToString(o.Key))
		}
	}
	if len(listed) != len(keep) || !slices.IsSorted(listed) {
		t.Errorf("listed %v, want the %d untouched objects", listed, len(keep))
	}
	// Untouched objects read back whole; nothing was removed.
	for k, sse := range keep {
		if got, err := getRange(k, "", sse == "c"); err != nil || !bytes.Equal(got, data[k]) {
			t.Errorf("untouched %s: %v", k, err)
		}
	}
	if n := countDataFiles(t, e); n != files {
		t.Errorf("%d body files, want %d", n, files)
	}
}
