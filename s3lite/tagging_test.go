package s3lite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
	"github.com/minio/minio-go/v7/pkg/tags"
)

func sdkTags(kv ...string) *types.Tagging {
	t := &types.Tagging{TagSet: []types.Tag{}}
	for i := 0; i+1 < len(kv); i += 2 {
		t.TagSet = append(t.TagSet, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return t
}

func tagMap(ts []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func TestObjectTaggingSDK(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("tags")
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: bytes.NewReader([]byte("data")), Tagging: aws.String("foo=bar&bar")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	// S3 lists tags in key order; a tag without "=" has an empty value.
	if want := []string{"bar=", "foo=bar"}; fmt.Sprint(tagStrings(got.TagSet)) != fmt.Sprint(want) {
		t.Errorf("tags from x-amz-tagging: %v, want %v", tagStrings(got.TagSet), want)
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || aws.ToInt32(head.TagCount) != 2 {
		t.Errorf("HEAD tag count %v: %v", head.TagCount, err)
	}

	if _, err := e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k"), Tagging: sdkTags("key3", "val3")}); err != nil {
		t.Fatal(err)
	}
	got, err = e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("null")})
	if err != nil || !reflect.DeepEqual(tagMap(got.TagSet), map[string]string{"key3": "val3"}) {
		t.Errorf("after PutObjectTagging: %v, %v", tagMap(got.TagSet), err)
	}
	obj, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || aws.ToInt32(obj.TagCount) != 1 {
		t.Errorf("GET tag count %v: %v", obj.TagCount, err)
	}
	obj.Body.Close()
	if _, err := e.s3.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	got, err = e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || len(got.TagSet) != 0 {
		t.Errorf("after DeleteObjectTagging: %v, %v", got.TagSet, err)
	}
	head, err = e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || head.TagCount != nil {
		t.Errorf("HEAD without tags: count %v, %v", head.TagCount, err)
	}
	if _, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("nope")}); s3Code(err) != "NoSuchKey" {
		t.Errorf("tags of a missing key: %v", err)
	}
	if _, err := e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("nope"), Tagging: sdkTags("a", "b")}); s3Code(err) != "NoSuchKey" {
		t.Errorf("tagging a missing key: %v", err)
	}
}

func tagStrings(ts []types.Tag) []string {
	var out []string
	for _, t := range ts {
		out = append(out, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	return out
}

func TestObjectTaggingLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("limits")
	if _, err := e.mc.PutObject(ctx, b, "k", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	many := func(n, klen, vlen int) []string {
		var kv []string
		for i := range n {
			kv = append(kv, fmt.Sprintf("%0*d", klen, i), strings.Repeat("v", vlen))
		}
		return kv
	}
	for _, c := range []struct {
		name string
		kv   []string
		code string
	}{
		{"ten tags of the longest key and value", many(10, 128, 256), ""},
		{"eleven tags", many(11, 1, 1), "InvalidTag"},
		{"key of 129", many(1, 129, 1), "InvalidTag"},
		{"value of 257", many(1, 1, 257), "InvalidTag"},
		{"multi-byte value of 256 characters", []string{"k", strings.Repeat("é", 256)}, ""},
		{"duplicate keys", []string{"a", "1", "a", "2"}, "InvalidTag"},
		{"aws: prefix", []string{"aws:cloudformation", "x"}, "InvalidTag"},
		{"empty key", []string{"", "x"}, "InvalidTag"},
		{"forbidden character", []string{"a*b", "x"}, "InvalidTag"},
		{"empty set", nil, ""},
	} {
		_, err := e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k"), Tagging: sdkTags(c.kv...)})
		if s3Code(err) != c.code {
			t.Errorf("%s: %v, want %q", c.name, err, c.code)
		}
	}
	// A refused tag set leaves the last accepted one (the empty set) in place.
	got, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || len(got.TagSet) != 0 {
		t.Errorf("tags after the refusals: %v, %v", got.TagSet, err)
	}
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, fmt.Sprintf("t%d=v", i))
	}
	for hdr, code := range map[string]string{
		"a=1&a=2":                      "InvalidArgument",
		"a=%zz":                        "InvalidArgument",
		"aws:x=1":                      "InvalidTag",
		strings.Join(eleven, "&"):      "InvalidTag",
		strings.Join(eleven[:10], "&"): "",
	} {
		_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("h"), Body: bytes.NewReader(nil), Tagging: aws.String(hdr)})
		if s3Code(err) != code {
			t.Errorf("x-amz-tagging %q: %v, want %q", hdr, err, code)
		}
	}
}

func TestObjectTaggingCopyAndMultipart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AutoEncrypt = true })
	ctx := context.Background()
	b := e.bucket("copytags")
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("src"), Body: bytes.NewReader([]byte("x")), Tagging: aws.String("a=1")}); err != nil {
		t.Fatal(err)
	}
	src := aws.String(b + "/src")
	cases := []struct {
		name string
		in   s3.CopyObjectInput
		want map[string]string
	}{
		{"default copies", s3.CopyObjectInput{}, map[string]string{"a": "1"}},
		{"COPY ignores x-amz-tagging", s3.CopyObjectInput{TaggingDirective: types.TaggingDirectiveCopy, Tagging: aws.String("b=2")}, map[string]string{"a": "1"}},
		{"REPLACE", s3.CopyObjectInput{TaggingDirective: types.TaggingDirectiveReplace, Tagging: aws.String("b=2")}, map[string]string{"b": "2"}},
		{"REPLACE without tags", s3.CopyObjectInput{TaggingDirective: types.TaggingDirectiveReplace}, map[string]string{}},
	}
	for i, c := range cases {
		in := c.in
		in.Bucket, in.Key, in.CopySource = aws.String(b), aws.String(fmt.Sprint("dst", i)), src
		if _, err := e.s3.CopyObject(ctx, &in); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: in.Key})
		if err != nil || !reflect.DeepEqual(tagMap(got.TagSet), c.want) {
			t.Errorf("%s: %v, %v; want %v", c.name, tagMap(got.TagSet), err, c.want)
		}
	}
	_, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("bad"), CopySource: src, TaggingDirective: "MOVE"})
	if s3Code(err) != "InvalidArgument" {
		t.Errorf("unknown tagging directive: %v", err)
	}

	// minio-go: tags on a multipart upload apply at completion.
	ut := map[string]string{"Hello": "World", "foo": "bar"}
	body := randBytes(minPartSize + 10)
	if _, err := e.mc.PutObject(ctx, b, "mp", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{UserTags: ut, PartSize: minPartSize, DisableContentSha256: true}); err != nil {
		t.Fatal(err)
	}
	st, err := e.mc.StatObject(ctx, b, "mp", minio.StatObjectOptions{})
	if err != nil || st.UserTagCount != 2 {
		t.Errorf("multipart object tag count %d: %v", st.UserTagCount, err)
	}
	got, err := e.mc.GetObjectTagging(ctx, b, "mp", minio.GetObjectTaggingOptions{})
	if err != nil || !reflect.DeepEqual(got.ToMap(), ut) {
		t.Errorf("multipart object tags: %v, %v", got, err)
	}
}

func TestTaggingMinio(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("mctags")
	if _, err := e.mc.PutObject(ctx, b, "o", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	ot, err := tags.NewTags(map[string]string{"project": "kms", "env": "test"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.mc.PutObjectTagging(ctx, b, "o", ot, minio.PutObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := e.mc.GetObjectTagging(ctx, b, "o", minio.GetObjectTaggingOptions{})
	if err != nil || !reflect.DeepEqual(got.ToMap(), ot.ToMap()) {
		t.Errorf("object tags: %v, %v", got, err)
	}
	if err := e.mc.RemoveObjectTagging(ctx, b, "o", minio.RemoveObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.mc.GetObjectTagging(ctx, b, "o", minio.GetObjectTaggingOptions{}); err != nil || len(got.ToMap()) != 0 {
		t.Errorf("after remove: %v, %v", got, err)
	}

	if _, err := e.mc.GetBucketTagging(ctx, b); s3Code(err) != "NoSuchTagSet" {
		t.Errorf("bucket without tags: %v", err)
	}
	bt, err := tags.NewTags(map[string]string{"team": "storage"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.mc.SetBucketTagging(ctx, b, bt); err != nil {
		t.Fatal(err)
	}
	e.restart() // tags live in the bucket record
	if got, err := e.mc.GetBucketTagging(ctx, b); err != nil || !reflect.DeepEqual(got.ToMap(), bt.ToMap()) {
		t.Errorf("bucket tags after restart: %v, %v", got, err)
	}
	if err := e.mc.RemoveBucketTagging(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mc.GetBucketTagging(ctx, b); s3Code(err) != "NoSuchTagSet" {
		t.Errorf("bucket tags after delete: %v", err)
	}
}

func TestBucketTaggingSDK(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("btags")
	var kv []string
	for i := range 50 {
		kv = append(kv, fmt.Sprint("k", i), "v")
	}
	if _, err := e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(b), Tagging: sdkTags(kv...)}); err != nil {
		t.Fatalf("50 bucket tags: %v", err)
	}
	got, err := e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(b)})
	if err != nil || len(got.TagSet) != 50 {
		t.Errorf("GetBucketTagging: %d tags, %v", len(got.TagSet), err)
	}
	_, err = e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(b), Tagging: sdkTags(append(kv, "k50", "v")...)})
	if s3Code(err) != "InvalidTag" {
		t.Errorf("51 bucket tags: %v", err)
	}
	_, err = e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("missing-bucket"), Tagging: sdkTags("a", "b")})
	if s3Code(err) != "NoSuchBucket" {
		t.Errorf("tags of a missing bucket: %v", err)
	}
	if _, err := e.s3.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(b)}); s3Code(err) != "NoSuchTagSet" {
		t.Errorf("after DeleteBucketTagging: %v", err)
	}
	// The wire form: the Tagging document in S3's namespace.
	req, _ := http.NewRequest(http.MethodPut, e.ts.URL+"/"+b+"?tagging", strings.NewReader(`<Tagging><TagSet><Tag><Key>z</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value></Value></Tag></TagSet></Tagging>`))
	if st, body := e.doSigned(t, req); st != http.StatusNoContent {
		t.Fatalf("PUT ?tagging: %d %s", st, body)
	}
	req, _ = http.NewRequest(http.MethodGet, e.ts.URL+"/"+b+"?tagging", nil)
	st, body := e.doSigned(t, req)
	want := `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>a</Key><Value></Value></Tag><Tag><Key>z</Key><Value>1</Value></Tag></TagSet></Tagging>`
	if st != http.StatusOK || !strings.HasSuffix(string(body), want) {
		t.Errorf("GET ?tagging: %d %s, want %s", st, body, want)
	}
}

func TestUserMetadataLowerCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("meta")
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: bytes.NewReader([]byte("x")), Metadata: map[string]string{"Foo": "bar", "MiXeD-Case": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || !reflect.DeepEqual(head.Metadata, map[string]string{"foo": "bar", "mixed-case": "v"}) {
		t.Errorf("metadata %v: %v", head.Metadata, err)
	}
	// On the wire the names are lower-case (clients canonicalize what they read, so the
	// handler's header map is what shows it).
	req := httptest.NewRequest(http.MethodHead, e.ts.URL+"/"+b+"/k", nil)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, signer.SignV4(*req, testAccess, testSecret, "", "us-east-1"))
	names := map[string]bool{}
	for k := range rec.Header() {
		names[k] = true
	}
	if rec.Code != http.StatusOK || !names["x-amz-meta-foo"] || !names["x-amz-meta-mixed-case"] {
		t.Errorf("HEAD: %d, header names %v", rec.Code, names)
	}
	if st, err := e.mc.StatObject(ctx, b, "k", minio.StatObjectOptions{}); err != nil || st.UserMetadata["Foo"] != "bar" {
		t.Errorf("minio-go user metadata %v: %v", st.UserMetadata, err)
	}
}

// FuzzTagging: the Tagging body and the x-amz-tagging header either fail with InvalidTag,
// InvalidArgument or MalformedXML, or give at most the limit of valid tags.
func FuzzTagging(f *testing.F) {
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>`), "foo=bar&bar")
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>aws:x</Key><Value></Value></Tag><Tag><Key>a</Key></Tag><Tag><Key>a</Key></Tag></TagSet></Tagging>`), "a=1&a=2&%zz")
	f.Fuzz(func(t *testing.T, body []byte, hdr string) {
		check := func(what string, tags map[string]string, err error) {
			if err != nil {
				if !errors.Is(err, errInvalidTag) && !errors.Is(err, errInvalidArgument) && !errors.Is(err, errMalformedXML) {
					t.Fatalf("%s: error %v", what, err)
				}
				return
			}
			if len(tags) > maxObjectTags {
				t.Fatalf("%s: %d tags", what, len(tags))
			}
			for k, v := range tags {
				if checkTag(k, v) != nil {
					t.Fatalf("%s: invalid tag %q=%q accepted", what, k, v)
				}
			}
		}
		tags, err := parseTagSet(bytes.NewReader(body), maxObjectTags)
		check("body", tags, err)
		tags, err = parseTagQuery(hdr)
		check("header", tags, err)
	})
}

// TestVersionTagging: tags belong to a version; ?versionId names which, as in S3.
func TestVersionTagging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("vertags")
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	v1 := putBody(t, e, b, "k", "one")
	v2 := putBody(t, e, b, "k", "two")
	if _, err := e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v1),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("gen"), Value: aws.String("old")}}}}); err != nil {
		t.Fatal(err)
	}
	tagsOf := func(vid *string) []types.Tag {
		t.Helper()
		out, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: vid})
		if err != nil {
			t.Fatal(err)
		}
		return out.TagSet
	}
	if got := tagsOf(aws.String(v1)); len(got) != 1 || aws.ToString(got[0].Value) != "old" {
		t.Errorf("tags of the older version: %+v, want gen=old", got)
	}
	if got := tagsOf(aws.String(v2)); len(got) != 0 {
		t.Errorf("tags of the current version named by id: %+v, want none", got)
	}
	if got := tagsOf(nil); len(got) != 0 {
		t.Errorf("tags of the current version: %+v, want none", got)
	}
	_, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("00000000000000000000000000")})
	if s3Code(err) != "NoSuchVersion" {
		t.Errorf("tags of an unknown version: %v, want NoSuchVersion", err)
	}
}
