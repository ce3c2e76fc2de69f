package s3lite

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// grantList renders grants as "TYPE:ID-or-URI:PERM" for comparison.
func grantList(gs []types.Grant) string {
	var out []string
	for _, g := range gs {
		who := aws.ToString(g.Grantee.ID)
		if g.Grantee.URI != nil {
			who = aws.ToString(g.Grantee.URI)
		}
		out = append(out, string(g.Grantee.Type)+":"+who+":"+string(g.Permission))
	}
	return strings.Join(out, " ")
}

func TestBucketACL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	me := hex.EncodeToString([]byte(testAccess))
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("acl"), ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	e.putObject(t, "acl", "k", "v")
	get := func() string {
		t.Helper()
		out, err := e.s3.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String("acl")})
		if err != nil {
			t.Fatal(err)
		}
		return grantList(out.Grants)
	}
	if got, want := get(), "Group:"+groupAllUsers+":READ CanonicalUser:"+me+":FULL_CONTROL"; got != want {
		t.Fatalf("public-read bucket ACL = %s, want %s", got, want)
	}
	e.wantAnon(t, "GET", "/acl", "", 200, "")
	e.wantAnon(t, "HEAD", "/acl", "", 200, "")
	e.wantAnon(t, "GET", "/acl/k", "", 403, "AccessDenied") // the object stays private
	e.wantAnon(t, "PUT", "/acl/new", "x", 403, "AccessDenied")

	for _, c := range []struct {
		acl  types.BucketCannedACL
		want string
	}{
		{types.BucketCannedACLPrivate, "CanonicalUser:" + me + ":FULL_CONTROL"},
		{types.BucketCannedACLPublicReadWrite, "Group:" + groupAllUsers + ":READ Group:" + groupAllUsers + ":WRITE CanonicalUser:" + me + ":FULL_CONTROL"},
		{types.BucketCannedACLAuthenticatedRead, "Group:" + groupAuthenticated + ":READ CanonicalUser:" + me + ":FULL_CONTROL"},
	} {
		if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("acl"), ACL: c.acl}); err != nil {
			t.Fatal(err)
		}
		if got := get(); got != c.want {
			t.Fatalf("%s: ACL = %s, want %s", c.acl, got, c.want)
		}
	}
	// authenticated-read grants nothing to anonymous requests; public-read-write let them write.
	e.wantAnon(t, "GET", "/acl", "", 403, "AccessDenied")
	if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("acl"), ACL: types.BucketCannedACLPublicReadWrite}); err != nil {
		t.Fatal(err)
	}
	e.wantAnon(t, "PUT", "/acl/new", "anon", 200, "")
	e.wantAnon(t, "DELETE", "/acl/new", "", 204, "")

	// An AccessControlPolicy body: grants to the owner and to groups are kept as given.
	pol := &types.AccessControlPolicy{
		Owner: &types.Owner{ID: aws.String(me)},
		Grants: []types.Grant{
			{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(me)}, Permission: types.PermissionRead},
			{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String(groupAllUsers)}, Permission: types.PermissionReadAcp},
		},
	}
	if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("acl"), AccessControlPolicy: pol}); err != nil {
		t.Fatal(err)
	}
	if got, want := get(), "Group:"+groupAllUsers+":READ_ACP CanonicalUser:"+me+":READ"; got != want {
		t.Fatalf("ACL from body = %s, want %s", got, want)
	}
	e.wantAnon(t, "GET", "/acl?acl", "", 200, "")
	e.wantAnon(t, "GET", "/acl", "", 403, "AccessDenied")

	// Revoking every grant leaves an empty list (the owner keeps its access).
	if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String("acl"), AccessControlPolicy: &types.AccessControlPolicy{Owner: &types.Owner{ID: aws.String(me)}}}); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != "" {
		t.Fatalf("ACL after revoking all = %q", got)
	}
}

func TestACLGrantsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("refuse")
	me := hex.EncodeToString([]byte(testAccess))
	other := strings.Repeat("ab", 32)
	cases := []struct {
		name string
		in   *s3.PutBucketAclInput
		code string
	}{
		{"other user", &s3.PutBucketAclInput{GrantRead: aws.String(`id="` + other + `"`)}, "AccessControlListNotSupported"},
		{"bad id", &s3.PutBucketAclInput{GrantRead: aws.String(`id="_foo"`)}, "InvalidArgument"},
		{"email", &s3.PutBucketAclInput{GrantFullControl: aws.String(`emailAddress="a@example.com"`)}, "UnresolvableGrantByEmailAddress"},
		{"unknown group", &s3.PutBucketAclInput{GrantRead: aws.String(`uri="http://acs.amazonaws.com/groups/global/Nobody"`)}, "InvalidArgument"},
		{"canned and grants", &s3.PutBucketAclInput{ACL: types.BucketCannedACLPrivate, GrantRead: aws.String(`id="` + me + `"`)}, "InvalidRequest"},
		{"unknown canned", &s3.PutBucketAclInput{ACL: "world-writable"}, "InvalidArgument"},
		{"body other user", &s3.PutBucketAclInput{AccessControlPolicy: &types.AccessControlPolicy{Owner: &types.Owner{ID: aws.String(me)}, Grants: []types.Grant{
			{Grantee: &types.Grantee{Type: types.TypeCanonicalUser, ID: aws.String(other)}, Permission: types.PermissionFullControl}}}}, "AccessControlListNotSupported"},
		{"body email", &s3.PutBucketAclInput{AccessControlPolicy: &types.AccessControlPolicy{Owner: &types.Owner{ID: aws.String(me)}, Grants: []types.Grant{
			{Grantee: &types.Grantee{Type: types.TypeAmazonCustomerByEmail, EmailAddress: aws.String("a@example.com")}, Permission: types.PermissionRead}}}}, "UnresolvableGrantByEmailAddress"},
		{"no acl", &s3.PutBucketAclInput{}, "MissingSecurityHeader"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.Bucket = aws.String(b)
			if _, err := e.s3.PutBucketAcl(ctx, c.in); s3Code(err) != c.code {
				t.Fatalf("PutBucketAcl: %v, want %s", err, c.code)
			}
		})
	}
	// A grant header naming the owner is fine.
	if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), GrantFullControl: aws.String(`id="` + me + `"`)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x"), GrantRead: aws.String(`id="` + other + `"`)})
	if s3Code(err) != "AccessControlListNotSupported" {
		t.Fatalf("PutObject granting another user: %v", err)
	}
	code, body := e.doSigned(t, mustRequest(t, http.MethodPut, e.ts.URL+"/"+b+"?acl", "<AccessControlPolicy><broken"))
	if code != 400 || !strings.Contains(string(body), "MalformedACLError") {
		t.Fatalf("broken ACL body: %d %s", code, body)
	}
}

func mustRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestObjectACL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("objacl")
	me := hex.EncodeToString([]byte(testAccess))
	getACL := func(key string) string {
		t.Helper()
		out, err := e.s3.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: aws.String(b), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Owner.ID) != me {
			t.Fatalf("object owner %q", aws.ToString(out.Owner.ID))
		}
		return grantList(out.Grants)
	}
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("pub"), Body: strings.NewReader("hi"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	e.putObject(t, b, "priv", "no")
	if got, want := getACL("pub"), "Group:"+groupAllUsers+":READ CanonicalUser:"+me+":FULL_CONTROL"; got != want {
		t.Fatalf("public-read object ACL = %s", got)
	}
	if got := getACL("priv"); got != "CanonicalUser:"+me+":FULL_CONTROL" {
		t.Fatalf("default object ACL = %s", got)
	}
	if body := e.wantAnon(t, "GET", "/objacl/pub", "", 200, ""); body != "hi" {
		t.Fatalf("anonymous GET of a public-read object: %q", body)
	}
	e.wantAnon(t, "GET", "/objacl/priv", "", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/objacl/nokey", "", 403, "AccessDenied")
	e.wantAnon(t, "PUT", "/objacl/pub", "x", 403, "AccessDenied")
	e.wantAnon(t, "GET", "/objacl/pub?acl", "", 403, "AccessDenied")

	if _, err := e.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("pub"), ACL: types.ObjectCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	e.wantAnon(t, "GET", "/objacl/pub", "", 403, "AccessDenied")
	if _, err := e.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("nokey"), ACL: types.ObjectCannedACLPrivate}); s3Code(err) != "NoSuchKey" {
		t.Fatalf("PutObjectAcl of a missing key: %v", err)
	}
	// The object still reads back after its record was rewritten.
	if _, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("pub")}); err != nil {
		t.Fatal(err)
	}

	// Copy and multipart completion take x-amz-acl too.
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"), CopySource: aws.String(b + "/priv"), ACL: types.ObjectCannedACLBucketOwnerFullControl}); err != nil {
		t.Fatal(err)
	}
	if got := getACL("copy"); got != "CanonicalUser:"+me+":FULL_CONTROL CanonicalUser:"+me+":FULL_CONTROL" {
		t.Fatalf("bucket-owner-full-control copy ACL = %s", got)
	}
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), ACL: types.ObjectCannedACLPublicRead})
	if err != nil {
		t.Fatal(err)
	}
	part, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: strings.NewReader("multi")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	if body := e.wantAnon(t, "GET", "/objacl/mp", "", 200, ""); body != "multi" {
		t.Fatalf("anonymous GET of a public-read multipart object: %q", body)
	}
}
