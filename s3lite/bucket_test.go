package s3lite

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

func TestBuckets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if err := e.mc.MakeBucket(ctx, "alpha", minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	// us-east-1 keeps S3's legacy answer to re-creating a bucket one owns: 200 (see
	// TestRecreateOwnBucket).
	if err := e.mc.MakeBucket(ctx, "alpha", minio.MakeBucketOptions{}); err != nil {
		t.Errorf("recreate: %v", err)
	}
	for _, bad := range []string{"ab", "Upper", "a..b", "foo.-bar", "foo-.bar", "-start", "192.168.1.1", strings.Repeat("a", 64)} {
		_, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bad)})
		if s3Code(err) != "InvalidBucketName" {
			t.Errorf("bucket %q: %v", bad, err)
		}
	}
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("beta"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}); s3Code(err) != "InvalidArgument" {
		t.Errorf("wrong region: %v", err)
	}
	e.bucket("beta")
	bs, err := e.mc.ListBuckets(ctx)
	if err != nil || len(bs) != 2 || bs[0].Name != "alpha" || bs[1].Name != "beta" {
		t.Fatalf("list buckets: %v %+v", err, bs)
	}
	if ok, err := e.mc.BucketExists(ctx, "alpha"); !ok || err != nil {
		t.Errorf("exists: %v %v", ok, err)
	}
	if ok, err := e.mc.BucketExists(ctx, "gamma"); ok || err != nil {
		t.Errorf("exists gamma: %v %v", ok, err)
	}
	loc, err := e.mc.GetBucketLocation(ctx, "alpha")
	if err != nil || loc != "us-east-1" {
		t.Errorf("location %q %v", loc, err)
	}
	aloc, err := e.s3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("alpha")})
	if err != nil || aloc.LocationConstraint != "" {
		t.Errorf("aws location %q %v", aloc.LocationConstraint, err)
	}
	if _, err := e.mc.PutObject(ctx, "alpha", "x", bytes.NewReader([]byte("1")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.mc.RemoveBucket(ctx, "alpha"); s3Code(err) != "BucketNotEmpty" {
		t.Errorf("remove non-empty: %v", err)
	}
	if err := e.mc.RemoveObject(ctx, "alpha", "x", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.mc.RemoveBucket(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if err := e.mc.RemoveBucket(ctx, "alpha"); s3Code(err) != "NoSuchBucket" {
		t.Errorf("remove twice: %v", err)
	}
	if _, err := e.mc.PutObject(ctx, "alpha", "x", bytes.NewReader(nil), 0, minio.PutObjectOptions{}); s3Code(err) != "NoSuchBucket" {
		t.Errorf("put in missing bucket: %v", err)
	}
}

func TestUnsupportedIsNotImplemented(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("nope")
	_, err := e.s3.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: aws.String(b), WebsiteConfiguration: &types.WebsiteConfiguration{IndexDocument: &types.IndexDocument{Suffix: aws.String("index.html")}}})
	if s3Code(err) != "NotImplemented" {
		t.Errorf("website: %v", err)
	}
	_, err = e.s3.PutBucketAccelerateConfiguration(ctx, &s3.PutBucketAccelerateConfigurationInput{Bucket: aws.String(b),
		AccelerateConfiguration: &types.AccelerateConfiguration{Status: types.BucketAccelerateStatusEnabled}})
	if s3Code(err) != "NotImplemented" {
		t.Errorf("accelerate: %v", err)
	}
}

func TestListObjects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("listing")
	keys := []string{"a/1", "a/2", "a/b/3", "b", "c d/e", "c+d", "z%1", "ü/x"}
	for _, k := range keys {
		if _, err := e.mc.PutObject(ctx, b, k, bytes.NewReader([]byte(k)), int64(len(k)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(v1 bool, prefix string, recursive bool, maxKeys int, startAfter string) []string {
		var out []string
		for o := range e.mc.ListObjects(ctx, b, minio.ListObjectsOptions{UseV1: v1, Prefix: prefix, Recursive: recursive, MaxKeys: maxKeys, StartAfter: startAfter}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			out = append(out, o.Key)
		}
		sort.Strings(out) // minio-go yields a page's keys before its prefixes
		return out
	}
	for _, v1 := range []bool{false, true} {
		for _, mk := range []int{0, 1, 2, 1000} {
			name := fmt.Sprintf("v1=%v/max=%d", v1, mk)
			if got := strings.Join(list(v1, "", true, mk, ""), ","); got != strings.Join(keys, ",") {
				t.Errorf("%s recursive: %s", name, got)
			}
			if got := strings.Join(list(v1, "", false, mk, ""), ","); got != "a/,b,c d/,c+d,z%1,ü/" {
				t.Errorf("%s delimited: %s", name, got)
			}
			if got := strings.Join(list(v1, "a/", false, mk, ""), ","); got != "a/1,a/2,a/b/" {
				t.Errorf("%s prefix: %s", name, got)
			}
		}
	}
	if got := strings.Join(list(false, "", true, 0, "a/b/3"), ","); got != "b,c d/e,c+d,z%1,ü/x" {
		t.Errorf("start-after: %s", got)
	}
	// encoding-type=url with aws-sdk-go-v2 (which does not decode).
	out, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String("c"), EncodingType: types.EncodingTypeUrl})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range out.Contents {
		k, err := url.QueryUnescape(aws.ToString(c.Key))
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(aws.ToString(c.Key), " +") {
			t.Errorf("key not encoded: %q", aws.ToString(c.Key))
		}
		got = append(got, k)
	}
	if strings.Join(got, ",") != "c d/e,c+d" {
		t.Errorf("url encoded listing: %v", got)
	}
	// v1 marker paging with a delimiter by hand.
	v1, err := e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(b), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(v1.IsTruncated) || aws.ToString(v1.NextMarker) != "b" || len(v1.CommonPrefixes) != 1 || len(v1.Contents) != 1 {
		t.Errorf("v1 page: truncated=%v next=%q %d %d", aws.ToBool(v1.IsTruncated), aws.ToString(v1.NextMarker), len(v1.CommonPrefixes), len(v1.Contents))
	}
	if _, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("missing-bucket")}); s3Code(err) != "NoSuchBucket" {
		t.Errorf("missing bucket: %v", err)
	}
}

func TestDeleteObjects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("multidelete")
	for i := 0; i < 5; i++ {
		if _, err := e.mc.PutObject(ctx, b, fmt.Sprint("k", i), bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// aws-sdk-go-v2 sends a CRC32 checksum and no Content-MD5.
	out, err := e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("k0")}, {Key: aws.String("k1")}, {Key: aws.String("absent")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 3 || len(out.Errors) != 0 {
		t.Errorf("verbose: %d deleted %d errors", len(out.Deleted), len(out.Errors))
	}
	out, err = e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Quiet: aws.Bool(true),
		Objects: []types.ObjectIdentifier{{Key: aws.String("k2")}}}})
	if err != nil || len(out.Deleted) != 0 {
		t.Errorf("quiet: %v %d", err, len(out.Deleted))
	}
	// minio-go sends Content-MD5.
	ch := make(chan minio.ObjectInfo, 2)
	ch <- minio.ObjectInfo{Key: "k3"}
	ch <- minio.ObjectInfo{Key: "k4"}
	close(ch)
	for re := range e.mc.RemoveObjects(ctx, b, ch, minio.RemoveObjectsOptions{}) {
		t.Errorf("remove objects: %v", re.Err)
	}
	n := 0
	for range e.mc.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
		n++
	}
	if n != 0 {
		t.Errorf("%d objects left", n)
	}
	if c := countDataFiles(t, e); c != 0 {
		t.Errorf("%d body files left", c)
	}
}

func TestListBucketsPaged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, b := range []string{"p-one", "p-two", "p-three", "other"} {
		e.bucket(b)
	}
	var names []string
	pg := s3.NewListBucketsPaginator(e.s3, &s3.ListBucketsInput{Prefix: aws.String("p-"), MaxBuckets: aws.Int32(2)})
	pages := 0
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, b := range out.Buckets {
			names = append(names, aws.ToString(b.Name))
		}
	}
	if strings.Join(names, ",") != "p-one,p-three,p-two" || pages != 2 {
		t.Errorf("paged buckets %v in %d pages", names, pages)
	}
}
