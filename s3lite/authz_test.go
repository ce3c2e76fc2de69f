package s3lite

import (
	"context"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"

	"github.com/kmsbox/kmsbox/s3lite/internal/sigv4"
)

// anon sends an unsigned request through the test server's TLS client and returns the
// status, the S3 error code (if the body is an <Error>) and the body.
func (e *env) anon(t *testing.T, method, path, body string) (int, string, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var er errorResponse
	_ = xml.Unmarshal(data, &er)
	return resp.StatusCode, er.Code, string(data)
}

// wantAnon asserts the status (and error code, "" for success) of an anonymous request.
func (e *env) wantAnon(t *testing.T, method, path, body string, status int, code string) string {
	t.Helper()
	st, c, data := e.anon(t, method, path, body)
	if st != status || method != http.MethodHead && c != code {
		t.Fatalf("anonymous %s %s = %d %s, want %d %s (%s)", method, path, st, c, status, code, data)
	}
	return data
}

func publicReadPolicy(bucket string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, bucket)
}

func (e *env) putObject(t *testing.T, bucket, key, body string) {
	t.Helper()
	if _, err := e.mc.PutObject(context.Background(), bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestAnonymousPrivateBucket(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("private")
	e.putObject(t, b, "k", "secret")
	e.wantAnon(t, "GET", "/private/k", "", 403, "AccessDenied")
	e.wantAnon(t, "HEAD", "/private/k", "", 403, "")
	e.wantAnon(t, "PUT", "/private/k2", "x", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/private", "", 403, "AccessDenied")
	e.wantAnon(t, "DELETE", "/private/k", "", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/private?acl", "", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/private?versioning", "", 403, "AccessDenied")
	e.wantAnon(t, "PUT", "/newbucket", "", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/nosuchbucket/k", "", 404, "NoSuchBucket")
	e.wantAnon(t, "GET", pathHealthLive, "", 200, "")
	body := e.wantAnon(t, "GET", "/", "", 200, "")
	if strings.Contains(body, "<Bucket>") || !strings.Contains(body, "<Buckets></Buckets>") {
		t.Fatalf("anonymous ListBuckets lists buckets: %s", body)
	}
}

func TestBucketPolicyPublicRead(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("pub")
	e.putObject(t, b, "k", "hello")
	if _, err := e.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)}); s3Code(err) != "NoSuchBucketPolicy" {
		t.Fatalf("GetBucketPolicy of none: %v", err)
	}
	doc := publicReadPolicy(b)
	if err := e.mc.SetBucketPolicy(ctx, b, doc); err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	if err != nil || aws.ToString(got.Policy) != doc {
		t.Fatalf("GetBucketPolicy = %q, %v; want the document as put", aws.ToString(got.Policy), err)
	}
	st, err := e.s3.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
	if err != nil || !aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Fatalf("GetBucketPolicyStatus: %+v, %v", st, err)
	}
	if body := e.wantAnon(t, "GET", "/pub/k", "", 200, ""); body != "hello" {
		t.Fatalf("anonymous GET = %q", body)
	}
	e.wantAnon(t, "HEAD", "/pub/k", "", 200, "")
	e.wantAnon(t, "GET", "/pub/missing", "", 403, "AccessDenied") // no s3:ListBucket: no 404
	e.wantAnon(t, "PUT", "/pub/k", "x", 403, "AccessDenied")
	e.wantAnon(t, "DELETE", "/pub/k", "", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/pub", "", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/pub?policy", "", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/pub/k?acl", "", 403, "AccessDenied")

	if _, err := e.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	e.wantAnon(t, "GET", "/pub/k", "", 403, "AccessDenied")
	st, err = e.s3.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
	if err != nil || aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Fatalf("GetBucketPolicyStatus without policy: %+v, %v", st, err)
	}
}

func TestBucketPolicyMalformed(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("mal")
	cases := map[string]string{
		"not json":      "nope",
		"not principal": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"x"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::mal"}]}`,
		"other bucket":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::other"}]}`,
		"too large":     `{"Version":"2012-10-17","Id":"` + strings.Repeat("x", 21<<10) + `","Statement":[]}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := e.s3.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(doc)})
			if s3Code(err) != "MalformedPolicy" {
				t.Fatalf("PutBucketPolicy: %v, want MalformedPolicy", err)
			}
		})
	}
	_, err := e.s3.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String("nosuch"), Policy: aws.String(publicReadPolicy("nosuch"))})
	if s3Code(err) != "NoSuchBucket" {
		t.Fatalf("PutBucketPolicy on a missing bucket: %v", err)
	}
}

func TestBucketPolicyDenyBindsOwner(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("deny")
	e.putObject(t, b, "k", "v")
	doc := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Deny","Principal":"*","Action":["s3:DeleteObject","s3:PutBucketPolicy","s3:GetBucketPolicy","s3:DeleteBucketPolicy"],"Resource":["arn:aws:s3:::deny","arn:aws:s3:::deny/*"]},
		{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::deny/*","Condition":{"StringEquals":{"s3:x-amz-acl":"public-read"}}}]}`
	if _, err := e.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); s3Code(err) != "AccessDenied" {
		t.Fatalf("DeleteObject under Deny: %v", err)
	}
	if _, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
		t.Fatalf("GetObject (not denied): %v", err)
	}
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("p"), Body: strings.NewReader("x"), ACL: "public-read"})
	if s3Code(err) != "AccessDenied" {
		t.Fatalf("PutObject public-read under a conditional Deny: %v", err)
	}
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("p"), Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("PutObject without the denied ACL: %v", err)
	}
	// The owner keeps the policy operations (no lock-out) ...
	if _, err := e.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("GetBucketPolicy by the owner: %v", err)
	}
	// ... unless the policy was put confirming the removal of its own access.
	if _, err := e.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(doc), ConfirmRemoveSelfBucketAccess: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(b)}); s3Code(err) != "AccessDenied" {
		t.Fatalf("GetBucketPolicy after confirmed self-denial: %v", err)
	}
	if _, err := e.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)}); s3Code(err) != "AccessDenied" {
		t.Fatalf("DeleteBucketPolicy after confirmed self-denial: %v", err)
	}
}

func TestBucketPolicyConditions(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("cond")
	e.putObject(t, b, "public/a", "1")
	e.putObject(t, b, "private/b", "2")
	doc := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::cond","Condition":{"StringLike":{"s3:prefix":"public/*"},"IpAddress":{"aws:SourceIp":["127.0.0.0/8","::1"]}}},
		{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cond/public/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
		{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cond/*","Condition":{"NotIpAddress":{"aws:SourceIp":["127.0.0.0/8","::1"]}}}]}`
	if err := e.mc.SetBucketPolicy(context.Background(), b, doc); err != nil {
		t.Fatal(err)
	}
	body := e.wantAnon(t, "GET", "/cond?list-type=2&prefix=public/", "", 200, "")
	if !strings.Contains(body, "<Key>public/a</Key>") || strings.Contains(body, "private/b") {
		t.Fatalf("anonymous listing of public/: %s", body)
	}
	e.wantAnon(t, "GET", "/cond?list-type=2&prefix=private/", "", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/cond?list-type=2", "", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/cond/public/a", "", 200, "")
	e.wantAnon(t, "GET", "/cond/private/b", "", 403, "AccessDenied")
}

func TestOwnerInEveryListing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	want := hex.EncodeToString([]byte(testAccess))
	b := e.bucket("owners")
	e.putObject(t, b, "k", "v")
	lb, err := e.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || aws.ToString(lb.Owner.ID) != want {
		t.Fatalf("ListBuckets owner: %v, %v", lb, err)
	}
	lo, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), FetchOwner: aws.Bool(true)})
	if err != nil || len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].Owner.ID) != want {
		t.Fatalf("ListObjectsV2 owner: %v", err)
	}
	acl, err := e.s3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(b)})
	if err != nil || aws.ToString(acl.Owner.ID) != want || aws.ToString(acl.Owner.DisplayName) != testAccess {
		t.Fatalf("GetBucketAcl owner: %v", err)
	}
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId})
	if err != nil || aws.ToString(lp.Owner.ID) != want {
		t.Fatalf("ListParts owner: %v", err)
	}
	lu, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].Owner.ID) != want {
		t.Fatalf("ListMultipartUploads owner: %v", err)
	}
}

func TestMissingKeyNeedsListBucket(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("miss")
	doc := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::miss/*"},
		{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::miss","Condition":{"StringLike":{"s3:prefix":"public/*"}}}]}`
	if err := e.mc.SetBucketPolicy(context.Background(), b, doc); err != nil {
		t.Fatal(err)
	}
	e.wantAnon(t, "GET", "/miss/public/none", "", 404, "NoSuchKey")
	e.wantAnon(t, "HEAD", "/miss/public/none", "", 404, "")
	e.wantAnon(t, "GET", "/miss/private/none", "", 403, "AccessDenied")
	e.wantAnon(t, "HEAD", "/miss/private/none", "", 403, "")
	// The owner may list: 404.
	if _, err := e.mc.StatObject(context.Background(), b, "private/none", minio.StatObjectOptions{}); s3Code(err) != "NoSuchKey" {
		t.Fatalf("owner HEAD of a missing key: %v", err)
	}
}

func TestAnonymousCopyNeedsSourceRead(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("dst"), ACL: "public-read-write"}); err != nil {
		t.Fatal(err)
	}
	src := e.bucket("src")
	e.putObject(t, src, "secret", "s")
	e.putObject(t, src, "open", "o")
	if _, err := e.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(src), Key: aws.String("open"), ACL: "public-read"}); err != nil {
		t.Fatal(err)
	}
	copyAnon := func(source string) (int, string) {
		req := mustRequest(t, http.MethodPut, e.ts.URL+"/dst/copy", "")
		req.Header.Set("X-Amz-Copy-Source", source)
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	if st, body := copyAnon("/src/secret"); st != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("anonymous copy of a private source: %d %s", st, body)
	}
	if st, body := copyAnon("/src/open"); st != 200 {
		t.Fatalf("anonymous copy of a public-read source: %d %s", st, body)
	}
}

// TestAnonymousSDKUpload: an SDK without credentials sends aws-chunked bodies with
// trailing checksums; they are decoded, not stored as framed.
func TestAnonymousSDKUpload(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drop"), ACL: "public-read-write"}); err != nil {
		t.Fatal(err)
	}
	anon := s3.New(s3.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(e.ts.URL),
		UsePathStyle: true, HTTPClient: e.ts.Client(), RetryMaxAttempts: 1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported})
	data := strings.Repeat("anonymous upload ", 1000)
	if _, err := anon.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("drop"), Key: aws.String("k"), Body: strings.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("drop"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(got) != data {
		t.Fatalf("anonymous upload stored %d bytes (%.40q), want the %d sent", len(got), got, len(data))
	}
	if _, err := anon.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("drop"), Key: aws.String("k")}); s3Code(err) != "AccessDenied" {
		t.Fatalf("anonymous GET of a private object in a public-read-write bucket: %v", err)
	}
}

// BenchmarkAuthorize measures what authorization adds to a signed request on a bucket
// with a policy (one bucket record read, the cached policy evaluated).
func BenchmarkAuthorize(b *testing.B) {
	e := newEnv(b)
	bk := e.bucket("bench")
	if err := e.mc.SetBucketPolicy(context.Background(), bk, publicReadPolicy(bk)); err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://example.com/bench/k", nil)
	rt := findRoute(req, levelObject, "")
	auth := &sigv4.Auth{AccessKey: testAccess}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.srv.authorize(req, rt, bk, "k", auth); err != nil {
			b.Fatal(err)
		}
	}
}
