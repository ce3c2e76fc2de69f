package s3lite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestListV2EmptyContinuationToken checks that ListObjectsV2 echoes a
// continuation-token parameter that is present but empty, and lists from
// the start; without the parameter the element is absent.
func TestListV2EmptyContinuationToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("tokens")
	for _, k := range []string{"bar", "baz", "foo"} {
		if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), ContinuationToken: aws.String("")})
	if err != nil {
		t.Fatal(err)
	}
	if out.ContinuationToken == nil || *out.ContinuationToken != "" || len(out.Contents) != 3 || aws.ToBool(out.IsTruncated) {
		t.Errorf("empty token: token %v, %d keys, truncated %v", out.ContinuationToken, len(out.Contents), aws.ToBool(out.IsTruncated))
	}
	out, err = e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if out.ContinuationToken != nil {
		t.Errorf("no token: ContinuationToken %q in the answer", *out.ContinuationToken)
	}
}

// TestContentEncodingStored checks which Content-Encoding is stored: the
// value as sent, less any aws-chunked token (a transfer detail).
func TestContentEncodingStored(t *testing.T) {
	t.Parallel()
	for sent, want := range map[string]string{
		"gzip":                     "gzip",
		"deflate, gzip":            "deflate, gzip",
		"gzip, aws-chunked":        "gzip",
		"aws-chunked, gzip":        "gzip",
		"aws-chunked":              "",
		"aws-chunked, aws-chunked": "",
	} {
		h, err := objectHeaders(http.Header{"Content-Encoding": {sent}})
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := h["Content-Encoding"]; got != want || ok != (want != "") {
			t.Errorf("sent %q: stored %q (present %v), want %q", sent, got, ok, want)
		}
	}
}

// TestExpectedBucketOwner checks x-amz-expected-bucket-owner and
// x-amz-source-expected-bucket-owner: the account's canonical ID passes,
// anything else is 403 AccessDenied.
func TestExpectedBucketOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("owned")
	id := hex.EncodeToString([]byte(testAccess))
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"),
		Body: strings.NewReader("v"), ExpectedBucketOwner: aws.String(id)}); err != nil {
		t.Fatalf("put with the right owner: %v", err)
	}
	if _, err := e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(b), ExpectedBucketOwner: aws.String(id)}); err != nil {
		t.Fatalf("list with the right owner: %v", err)
	}
	for _, wrong := range []string{id + "00", id + "foo", "123456789012"} {
		_, err := e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(b), ExpectedBucketOwner: aws.String(wrong)})
		if s3Code(err) != "AccessDenied" {
			t.Errorf("list, expected owner %q: %v", wrong, err)
		}
		_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k2"),
			Body: strings.NewReader("v"), ExpectedBucketOwner: aws.String(wrong)})
		if s3Code(err) != "AccessDenied" {
			t.Errorf("put, expected owner %q: %v", wrong, err)
		}
	}
	_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("c"),
		CopySource: aws.String(b + "/k"), ExpectedSourceBucketOwner: aws.String(id + "00")})
	if s3Code(err) != "AccessDenied" {
		t.Errorf("copy, wrong source owner: %v", err)
	}
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("c"),
		CopySource: aws.String(b + "/k"), ExpectedSourceBucketOwner: aws.String(id)}); err != nil {
		t.Errorf("copy, right source owner: %v", err)
	}
}

// TestCompleteObjectChecksum checks the x-amz-checksum-* header of
// CompleteMultipartUpload: it is the checksum expected of the object (with
// or without the "-<parts>" suffix of a COMPOSITE checksum), not of the XML
// body; a mismatch is BadDigest.
func TestCompleteObjectChecksum(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("completesum")
	data := []byte(strings.Repeat("A", 1024))
	part := sha256.Sum256(data)
	composite := sha256.Sum256(part[:])
	want := b64(composite[:]) + "-1"
	start := func(key string) (*string, types.CompletedPart) {
		cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key),
			ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
		if err != nil {
			t.Fatal(err)
		}
		up, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cr.UploadId,
			PartNumber: aws.Int32(1), Body: bytes.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
		if err != nil {
			t.Fatal(err)
		}
		return cr.UploadId, types.CompletedPart{PartNumber: aws.Int32(1), ETag: up.ETag, ChecksumSHA256: up.ChecksumSHA256}
	}
	complete := func(key string, id *string, p types.CompletedPart, sum string) (*s3.CompleteMultipartUploadOutput, error) {
		return e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: id,
			ChecksumSHA256: aws.String(sum), MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{p}}})
	}
	id, p := start("a")
	if _, err := complete("a", id, p, b64(part[:])); s3Code(err) != "BadDigest" {
		t.Errorf("wrong object checksum: %v", err)
	}
	out, err := complete("a", id, p, want)
	if err != nil || aws.ToString(out.ChecksumSHA256) != want {
		t.Fatalf("complete: %v, checksum %q, want %q", err, aws.ToString(out.ChecksumSHA256), want)
	}
	again, err := complete("a", id, p, want)
	if err != nil || aws.ToString(again.ETag) != aws.ToString(out.ETag) || aws.ToString(again.ChecksumSHA256) != want {
		t.Errorf("retried complete: %v, %+v", err, again)
	}
	id, p = start("b")
	if _, err := complete("b", id, p, b64(composite[:])); err != nil {
		t.Errorf("complete with the composite checksum without its suffix: %v", err)
	}
}

// TestObjectAttributesVersions checks GetObjectAttributes on a versioned
// bucket: the answer names the version it describes, and versionId picks
// an older one.
func TestObjectAttributesVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("attrversions")
	if _, err := e.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	put := func(body string) *s3.PutObjectOutput {
		out, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	v1, v2 := put("one"), put("three")
	attrs := []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesObjectSize}
	cur, err := e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("k"), ObjectAttributes: attrs})
	if err != nil || aws.ToString(cur.VersionId) != aws.ToString(v2.VersionId) || aws.ToInt64(cur.ObjectSize) != 5 {
		t.Fatalf("current: %v, %+v", err, cur)
	}
	old, err := e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("k"),
		VersionId: v1.VersionId, ObjectAttributes: attrs})
	if err != nil || aws.ToString(old.VersionId) != aws.ToString(v1.VersionId) || aws.ToInt64(old.ObjectSize) != 3 ||
		`"`+aws.ToString(old.ETag)+`"` != aws.ToString(v1.ETag) {
		t.Fatalf("old version: %v, %+v", err, old)
	}
	_, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String(b), Key: aws.String("k"),
		VersionId: aws.String("nosuchversion"), ObjectAttributes: attrs})
	if c := s3Code(err); c != "NoSuchVersion" && c != "InvalidArgument" {
		t.Errorf("unknown version: %v", err)
	}
}

// TestAnonymousMissingKeyACL checks an anonymous GET of a missing key in a
// bucket whose ACL grants public READ (so s3:ListBucket): 404 NoSuchKey, as
// S3 answers whoever may list the bucket; in a private bucket it stays 403.
func TestAnonymousMissingKeyACL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pub, priv := e.bucket("aclpub"), e.bucket("aclpriv")
	if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(pub), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	e.putObject(t, pub, "foo", "bar")
	if _, err := e.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(pub), Key: aws.String("foo"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	e.wantAnon(t, "GET", "/"+pub+"/foo", "", 200, "")
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(pub), Key: aws.String("foo")}); err != nil {
		t.Fatal(err)
	}
	e.wantAnon(t, "GET", "/"+pub+"/foo", "", 404, "NoSuchKey")
	e.wantAnon(t, "GET", "/"+priv+"/foo", "", 403, "AccessDenied")
}

// TestRecreateOwnBucket checks CreateBucket of a bucket the requester owns
// in us-east-1: 200, the objects stay, and the ACL is reset to the one the
// request names (default private).
func TestRecreateOwnBucket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("again")
	e.putObject(t, b, "k", "v")
	if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("re-create: %v", err)
	}
	l, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil || len(l.Contents) != 1 || aws.ToString(l.Contents[0].Key) != "k" {
		t.Fatalf("objects after re-create: %v, %+v", err, l)
	}
	acl, err := e.s3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Permission != types.PermissionFullControl {
		t.Fatalf("ACL after re-create: %v, %+v", err, acl)
	}
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatalf("re-create public-read: %v", err)
	}
	acl, err = e.s3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
	if err != nil || len(acl.Grants) != 2 {
		t.Fatalf("ACL after re-create with public-read: %v, %+v", err, acl)
	}
}
