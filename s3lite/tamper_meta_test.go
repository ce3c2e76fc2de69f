package s3lite

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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

// TestTamperedMetadata changes the metadata of stored objects in meta.db
// (sealed object key, IV, key id, sealed data key, context, ETag, sizes,
// the encryption metadata as a whole) and checks GET, range GET, HEAD and
// CopyObject answer a clear error with the status of the check that caught
// it, never altered data, while listing and every other object are
// unaffected:
//   - the sealed object key or IV does not open: 500 XMinioObjectTampered
//     (SSE-C: 403 AccessDenied, as a wrong customer key, since the two
//     cannot be told apart);
//   - the sealed data key or the context (the KMS's associated data) is
//     changed: the KMS refuses, 400 kms:InvalidCiphertextException; so
//     does the record of another object copied over this one, since the
//     KMS context names bucket/object (for SSE-C, whose key is bound to
//     bucket/object too, 403 AccessDenied);
//   - the key id names no master key: 404 kms:KeyNotFound;
//   - a value that is not base64 or JSON: 500 XMinioObjectTampered.
//
// HEAD of SSE-S3/SSE-KMS objects never opens the object key, so it answers
// 200 from the record. The ETag is not authenticated: changing it changes
// the ETag clients see, but the body still reads back intact.
//
// The sizes in a record are checked against the body files: removing the
// encryption metadata (which would serve the DARE ciphertext as the
// object) or lowering or raising a size (which would serve a decrypted
// prefix, or fail only at the end of the stream) leaves a body file whose
// size on disk is not the one the record implies. The read is refused
// with 500 XMinioObjectTampered when it opens the file: before the
// response starts for the files a read opens up front (the first 256
// parts), by aborting the stream for a later one. A record whose object
// size is not the sum of its part sizes is refused before any file is
// opened, on HEAD too. HEAD opens no file but checks every body file's size
// against its record, so it refuses a consistently edited record too.
func TestTamperedMetadata(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("tampermeta")
	kmsCtx := base64.StdEncoding.EncodeToString([]byte(`{"team":"storage"}`))
	otherCtx := base64.StdEncoding.EncodeToString([]byte(`{"team":"storagf"}`))
	const tampered, invalidCT, keyNotFound, denied, invalidReq = "XMinioObjectTampered", "kms:InvalidCiphertextException", "kms:KeyNotFound", "AccessDenied", "InvalidRequest"
	cases := []struct {
		name, sse  string // sse: s3, kms, c or mp (SSE-KMS multipart)
		edit       func(r, other record)
		code       string // "" = GET succeeds with the original body
		status     int
		headStatus int
	}{
		{"s3-sealed-key", "s3", flipSSE(metaS3Sealed), tampered, 500, 200},
		{"s3-sealed-key-not-base64", "s3", setSSE(metaS3Sealed, "!!not base64!!"), tampered, 500, 200},
		{"s3-iv", "s3", flipSSE(metaIV), tampered, 500, 200},
		{"s3-iv-short", "s3", setSSE(metaIV, base64.StdEncoding.EncodeToString(make([]byte, 16))), tampered, 500, 200},
		{"s3-sealed-data-key", "s3", flipSSE(metaKEKSealed), invalidCT, 400, 200},
		{"s3-sealed-data-key-not-base64", "s3", setSSE(metaKEKSealed, "%%%"), tampered, 500, 200},
		{"s3-key-id", "s3", setSSE(metaKeyID, "minio-key-2"), keyNotFound, 404, 200},
		{"s3-record-of-other-object", "s3", swapRecord, invalidCT, 400, 200},
		{"s3-etag", "s3", func(r, _ record) { r["etag"] = "00112233445566778899aabbccddeeff" }, "", 200, 200},
		{"kms-sealed-key", "kms", flipSSE(metaKMSSealed), tampered, 500, 200},
		{"kms-iv", "kms", flipSSE(metaIV), tampered, 500, 200},
		{"kms-sealed-data-key", "kms", flipSSE(metaKEKSealed), invalidCT, 400, 200},
		{"kms-key-id", "kms", setSSE(metaKeyID, "other-key"), keyNotFound, 404, 200},
		{"kms-context", "kms", setSSE(metaContext, otherCtx), invalidCT, 400, 200},
		{"kms-context-removed", "kms", setSSE(metaContext, nil), invalidCT, 400, 200},
		{"kms-context-not-json", "kms", setSSE(metaContext, base64.StdEncoding.EncodeToString([]byte("{not json"))), tampered, 500, 200},
		{"kms-etag", "kms", func(r, _ record) { r["etag"] = "ffeeddccbbaa99887766554433221100" }, "", 200, 200},
		{"c-sealed-key", "c", flipSSE(metaCSealed), denied, 403, 403},
		{"c-iv", "c", flipSSE(metaIV), denied, 403, 403},
		{"c-record-of-other-object", "c", swapRecord, denied, 403, 403},
		{"mp-sealed-key", "mp", flipSSE(metaKMSSealed), tampered, 500, 200},
		{"mp-sealed-data-key", "mp", flipSSE(metaKEKSealed), invalidCT, 400, 200},
	}
	const inFirstPart, inSecondPart, lastBytes = "bytes=100-199", "bytes=5242980-5243079", "bytes=-100"
	sizeCases := []struct {
		name, sse string // as above, plus plain, mp2 (SSE-S3, parts of 5 MiB and 70000 bytes) and many (plaintext, forgeManyParts)
		noKey     bool   // read an SSE-C object without its key
		edit      func(r, other record)
		code      string // GET; "" = 200, and the stream breaks before the end
		headCode  string // the error HEAD answers the status of; "" = 500 (HEAD checks the body files' sizes)
		rng       string // range GET; "" = bytes=66000-66099
		rngCode   string // "" = 206 with the original bytes
	}{
		{"plain-size-lowered", "plain", false, resize(-1000, false), tampered, "", "", tampered},
		{"plain-size-lowered-by-one", "plain", false, resize(-1, false), tampered, "", lastBytes, tampered},
		{"plain-size-raised", "plain", false, resize(1000, false), tampered, "", "", tampered},
		{"plain-size-zero", "plain", false, resize(0, true), tampered, "", "", "InvalidRange"},
		{"plain-object-size-only", "plain", false, func(r, _ record) { r["size"] = r["size"].(float64) - 1000 }, tampered, tampered, "", tampered},
		{"plain-stored-size", "plain", false, func(r, _ record) { r.parts()[0]["es"] = float64(1) }, tampered, "", "", tampered},
		{"s3-sse-removed", "s3", false, dropSSE(true), tampered, "", "", tampered},
		{"s3-sse-removed-stored-size-kept", "s3", false, dropSSE(false), tampered, "", "", tampered},
		{"s3-size-lowered", "s3", false, resize(-1, false), tampered, "", "", tampered},
		{"s3-size-raised", "s3", false, resize(1, false), tampered, "", "", tampered},
		{"s3-size-zero", "s3", false, resize(0, true), tampered, "", "", "InvalidRange"},
		{"s3-object-size-only", "s3", false, func(r, _ record) { r["size"] = r["size"].(float64) + 1 }, tampered, tampered, "", tampered},
		{"c-sse-removed", "c", false, dropSSE(true), invalidReq, invalidReq, "", invalidReq},
		{"c-sse-removed-read-without-key", "c", true, dropSSE(true), tampered, "", "", tampered},
		{"c-size-lowered", "c", false, resize(-1000, false), tampered, "", "", tampered},
		{"c-size-raised", "c", false, resize(1000, false), tampered, "", "", tampered},
		{"mp-sse-removed", "mp", false, dropSSE(true), tampered, "", "", tampered},
		{"mp-size-lowered", "mp", false, resize(-1000, false), tampered, "", "", tampered},
		{"mp-size-raised", "mp", false, resize(1000, false), tampered, "", "", tampered},
		{"mp-two-parts-sse-removed", "mp2", false, dropSSE(true), tampered, "", inFirstPart, tampered},
		{"mp-two-parts-last-lowered", "mp2", false, resize(-1000, false), tampered, "", inFirstPart, ""},
		{"mp-two-parts-last-lowered-range", "mp2", false, resize(-1000, false), tampered, "", inSecondPart, tampered},
		{"mp-two-parts-last-raised", "mp2", false, resize(1000, false), tampered, "", lastBytes, tampered},
		{"many-last-part-lowered", "many", false, resize(-1, false), "", "", lastBytes, tampered},
		{"many-last-part-raised", "many", false, resize(1, false), "", "", "", ""},
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
		case "mp2":
			data[k] = append(slices.Clip(mp2First), body...)
			awsMultipart(t, e, b, k, [][]byte{mp2First, body}, types.ServerSideEncryptionAes256, false)
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
	keep := map[string]string{"keep-s3": "s3", "keep-kms": "kms", "keep-c": "c", "keep-mp": "mp", "keep-plain": "", "keep-many": "many"}
	for k, sse := range keep {
		put(k, sse)
	}
	edits := map[string]func(r, other record){}
	for _, tc := range cases {
		put(tc.name, tc.sse)
		edits[tc.name] = tc.edit
	}
	for _, tc := range sizeCases {
		put(tc.name, tc.sse)
		edits[tc.name] = tc.edit
	}
	// A swapped record drops the reference to its own body file, which
	// Open then sweeps as an orphan.
	files := countDataFiles(t, e) - 2
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
	get := func(k, sse string) ([]byte, error) { return getRange(k, "", sse == "c") }
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
			got, err := get(tc.name, tc.sse)
			if tc.code == "" {
				if err != nil || !bytes.Equal(got, data[tc.name]) {
					t.Errorf("GET: %v, %d bytes, intact=%v", err, len(got), bytes.Equal(got, data[tc.name]))
				}
			} else if code, status := apiStatus(err); code != tc.code || status != tc.status {
				t.Errorf("GET: %v (%d bytes), want %s (%d)", err, len(got), tc.code, tc.status)
			}
			if status := headStatus(tc.name, tc.sse == "c"); status != tc.headStatus {
				t.Errorf("HEAD: %d, want %d", status, tc.headStatus)
			}
			// A range inside the second DARE package is refused the same way.
			got, err = getRange(tc.name, "bytes=66000-66099", tc.sse == "c")
			if tc.code == "" {
				if err != nil || !bytes.Equal(got, data[tc.name][66000:66100]) {
					t.Errorf("range GET: %v, altered data", err)
				}
			} else if code, _ := apiStatus(err); code != tc.code {
				t.Errorf("range GET: %v, want %s", err, tc.code)
			}
		})
	}
	status := map[string]int{tampered: 500, invalidReq: 400, "InvalidRange": 416}
	for _, tc := range sizeCases {
		t.Run(tc.name, func(t *testing.T) {
			withKey := tc.sse == "c" && !tc.noKey
			want := data[tc.name]
			got, err := getRange(tc.name, "", withKey)
			if tc.code == "" {
				// The files past the first 256 open while the response
				// streams: it breaks off after an unaltered prefix.
				if _, st := apiStatus(err); err == nil || st != 0 || len(got) >= len(want) || !bytes.Equal(got, want[:len(got)]) {
					t.Errorf("GET: %v, %d bytes, want a broken stream after a strict prefix of %d", err, len(got), len(want))
				}
			} else if code, st := apiStatus(err); code != tc.code || st != status[tc.code] || got != nil {
				t.Errorf("GET: %v (%d bytes), want %s (%d)", err, len(got), tc.code, status[tc.code])
			}
			if st := headStatus(tc.name, withKey); st != cmp.Or(status[tc.headCode], 500) {
				t.Errorf("HEAD: %d, want the status of %q", st, tc.headCode)
			}
			rng := tc.rng
			if rng == "" {
				rng = "bytes=66000-66099"
			}
			got, err = getRange(tc.name, rng, withKey)
			if tc.rngCode == "" {
				var from, to int
				fmt.Sscanf(rng, "bytes=%d-%d", &from, &to)
				if err != nil || !bytes.Equal(got, want[from:to+1]) {
					t.Errorf("range GET %s: %v, %d bytes, altered data", rng, err, len(got))
				}
			} else if code, st := apiStatus(err); code != tc.rngCode || st != status[tc.rngCode] {
				t.Errorf("range GET %s: %v, want %s", rng, err, tc.rngCode)
			}
			// A copy reads the whole source before it answers: every
			// mismatch is an error, and nothing is stored.
			in := &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy-of-" + tc.name), CopySource: aws.String(b + "/" + tc.name)}
			if withKey {
				in.CopySourceSSECustomerAlgorithm, in.CopySourceSSECustomerKey, in.CopySourceSSECustomerKeyMD5 = ssecHeaders()
			}
			wantCode := cmp.Or(tc.code, tampered)
			if _, err := e.s3.CopyObject(ctx, in); s3Code(err) != wantCode {
				t.Errorf("copy: %v, want %s", err, wantCode)
			}
		})
	}
	// Listing reads no key material: every object is listed.
	var listed []string
	p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: aws.String(b), MaxKeys: aws.Int32(7)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, o := range page.Contents {
			listed = append(listed, aws.ToString(o.Key))
		}
	}
	if n := len(cases) + len(sizeCases) + len(keep); len(listed) != n || !slices.IsSorted(listed) {
		t.Errorf("listed %d keys (sorted %v), want %d", len(listed), slices.IsSorted(listed), n)
	}
	// Untouched objects read back whole (keep-many through the parts
	// opened while streaming); nothing was removed.
	for k, sse := range keep {
		if got, err := get(k, sse); err != nil || !bytes.Equal(got, data[k]) {
			t.Errorf("untouched %s: %v", k, err)
		}
	}
	if n := countDataFiles(t, e); n != files {
		t.Errorf("%d body files, want %d", n, files)
	}
}
