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

// TestTamperedMetadata changes the encryption metadata of stored objects
// in meta.db (sealed object key, IV, key id, sealed data key, context,
// ETag) and checks GET and HEAD answer a clear error with the status of the
// check that caught it, never altered data, while listing and every other
// object are unaffected:
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
func TestTamperedMetadata(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("tampermeta")
	kmsCtx := base64.StdEncoding.EncodeToString([]byte(`{"team":"storage"}`))
	otherCtx := base64.StdEncoding.EncodeToString([]byte(`{"team":"storagf"}`))
	const tampered, invalidCT, keyNotFound, denied = "XMinioObjectTampered", "kms:InvalidCiphertextException", "kms:KeyNotFound", "AccessDenied"
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
	data := map[string][]byte{}
	put := func(k, sse string) {
		body := randBytes(70000)
		data[k] = body
		if sse == "mp" {
			awsMultipart(t, e, b, k, [][]byte{body}, types.ServerSideEncryptionAwsKms, false)
			return
		}
		in := &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: bytes.NewReader(body)}
		switch sse {
		case "s3":
			in.ServerSideEncryption = types.ServerSideEncryptionAes256
		case "kms":
			in.ServerSideEncryption, in.SSEKMSKeyId, in.SSEKMSEncryptionContext = types.ServerSideEncryptionAwsKms, aws.String(testKeyID), aws.String(kmsCtx)
		case "c":
			in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = ssecHeaders()
		}
		if _, err := e.s3.PutObject(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	keep := map[string]string{"keep-s3": "s3", "keep-kms": "kms", "keep-c": "c", "keep-mp": "mp", "keep-plain": ""}
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
	files := countDataFiles(t, e) - 2
	editRecords(t, e, b, edits)

	get := func(k, sse string) ([]byte, error) {
		in := &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)}
		if sse == "c" {
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
	head := func(k, sse string) error {
		in := &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k)}
		if sse == "c" {
			in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = ssecHeaders()
		}
		_, err := e.s3.HeadObject(ctx, in)
		return err
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
			status := 200
			if err := head(tc.name, tc.sse); err != nil {
				_, status = apiStatus(err)
			}
			if status != tc.headStatus {
				t.Errorf("HEAD: %d, want %d", status, tc.headStatus)
			}
			// A range inside the second DARE package is refused the same way.
			rin := &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(tc.name), Range: aws.String("bytes=66000-66099")}
			if tc.sse == "c" {
				rin.SSECustomerAlgorithm, rin.SSECustomerKey, rin.SSECustomerKeyMD5 = ssecHeaders()
			}
			out, err := e.s3.GetObject(ctx, rin)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("range GET: %v", err)
				}
				var buf bytes.Buffer
				_, err = buf.ReadFrom(out.Body)
				out.Body.Close()
				if err != nil || !bytes.Equal(buf.Bytes(), data[tc.name][66000:66100]) {
					t.Errorf("range GET: %v, altered data", err)
				}
			} else if code, _ := apiStatus(err); code != tc.code {
				t.Errorf("range GET: %v, want %s", err, tc.code)
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
	if len(listed) != len(cases)+len(keep) || !slices.IsSorted(listed) {
		t.Errorf("listed %d keys (sorted %v), want %d", len(listed), slices.IsSorted(listed), len(cases)+len(keep))
	}
	// Untouched objects read back whole; nothing was removed.
	for k, sse := range keep {
		if got, err := get(k, sse); err != nil || !bytes.Equal(got, data[k]) {
			t.Errorf("untouched %s: %v", k, err)
		}
	}
	if n := countDataFiles(t, e); n != files {
		t.Errorf("%d body files, want %d", n, files)
	}
}
