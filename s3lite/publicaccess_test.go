package s3lite

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestOwnershipControls(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := aws.String("own")
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b, ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b}); s3Code(err) != "OwnershipControlsNotFoundError" {
		t.Fatalf("GetBucketOwnershipControls of none: %v", err)
	}
	enforced := &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}
	if _, err := e.s3.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: enforced}); s3Code(err) != "InvalidBucketAclWithObjectOwnership" {
		t.Fatalf("BucketOwnerEnforced over a public-read ACL: %v", err)
	}
	if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: enforced}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
	if err != nil || len(got.OwnershipControls.Rules) != 1 || got.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipBucketOwnerEnforced {
		t.Fatalf("GetBucketOwnershipControls: %+v, %v", got, err)
	}
	// ACLs are disabled: only bucket-owner-full-control (or none) is accepted.
	put := func(acl types.ObjectCannedACL) error {
		_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("x"), ACL: acl})
		return err
	}
	if err := put(""); err != nil {
		t.Fatal(err)
	}
	if err := put(types.ObjectCannedACLBucketOwnerFullControl); err != nil {
		t.Fatal(err)
	}
	if err := put(types.ObjectCannedACLPrivate); s3Code(err) != "AccessControlListNotSupported" {
		t.Fatalf("PutObject private with ACLs disabled: %v", err)
	}
	if _, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("m"), ACL: types.ObjectCannedACLPublicRead}); s3Code(err) != "AccessControlListNotSupported" {
		t.Fatalf("CreateMultipartUpload public-read with ACLs disabled: %v", err)
	}
	if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: types.BucketCannedACLPrivate}); s3Code(err) != "AccessControlListNotSupported" {
		t.Fatalf("PutBucketAcl with ACLs disabled: %v", err)
	}
	if _, err := e.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: b, Key: aws.String("k"), ACL: types.ObjectCannedACLPrivate}); s3Code(err) != "AccessControlListNotSupported" {
		t.Fatalf("PutObjectAcl with ACLs disabled: %v", err)
	}
	if _, err := e.s3.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: aws.String("k")}); err != nil {
		t.Fatalf("GetObjectAcl stays allowed: %v", err)
	}
	bad := &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: "Anybody"}}}
	if _, err := e.s3.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: bad}); s3Code(err) != "MalformedXML" {
		t.Fatalf("unknown ObjectOwnership: %v", err)
	}
	if _, err := e.s3.DeleteBucketOwnershipControls(ctx, &s3.DeleteBucketOwnershipControlsInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b}); s3Code(err) != "OwnershipControlsNotFoundError" {
		t.Fatalf("after delete: %v", err)
	}
	if err := put(types.ObjectCannedACLPrivate); err != nil {
		t.Fatalf("ACLs enabled again: %v", err)
	}
	// CreateBucket with x-amz-object-ownership.
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("own2"), ObjectOwnership: types.ObjectOwnershipObjectWriter}); err != nil {
		t.Fatal(err)
	}
	got, err = e.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: aws.String("own2")})
	if err != nil || got.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipObjectWriter {
		t.Fatalf("ownership from CreateBucket: %v", err)
	}
}

func TestPublicAccessBlock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("pab")
	e.putObject(t, b, "k", "v")
	if _, err := e.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)}); s3Code(err) != "NoSuchPublicAccessBlockConfiguration" {
		t.Fatalf("GetPublicAccessBlock of none: %v", err)
	}
	setPAB := func(blockACL, ignoreACL, blockPol, restrict bool) {
		t.Helper()
		c := &types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(blockACL), IgnorePublicAcls: aws.Bool(ignoreACL), BlockPublicPolicy: aws.Bool(blockPol), RestrictPublicBuckets: aws.Bool(restrict)}
		if _, err := e.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(b), PublicAccessBlockConfiguration: c}); err != nil {
			t.Fatal(err)
		}
		got, err := e.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		g := got.PublicAccessBlockConfiguration
		if aws.ToBool(g.BlockPublicAcls) != blockACL || aws.ToBool(g.IgnorePublicAcls) != ignoreACL || aws.ToBool(g.BlockPublicPolicy) != blockPol || aws.ToBool(g.RestrictPublicBuckets) != restrict {
			t.Fatalf("GetPublicAccessBlock = %+v", g)
		}
	}

	// BlockPublicAcls refuses public ACLs; private ones still go.
	setPAB(true, false, true, false)
	for _, acl := range []types.BucketCannedACL{types.BucketCannedACLPublicRead, types.BucketCannedACLPublicReadWrite, types.BucketCannedACLAuthenticatedRead} {
		if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: acl}); s3Code(err) != "AccessDenied" {
			t.Fatalf("PutBucketAcl %s under BlockPublicAcls: %v", acl, err)
		}
	}
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("p"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead}); s3Code(err) != "AccessDenied" {
		t.Fatalf("PutObject public-read under BlockPublicAcls: %v", err)
	}
	if _, err := e.s3.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: aws.String(b), ACL: types.BucketCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	// BlockPublicPolicy refuses a public policy, not a restricted one.
	if _, err := e.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(publicReadPolicy(b))}); s3Code(err) != "AccessDenied" {
		t.Fatalf("public policy under BlockPublicPolicy: %v", err)
	}
	restricted := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pab/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.1/32"}}}]}`
	if _, err := e.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(restricted)}); err != nil {
		t.Fatalf("non-public policy under BlockPublicPolicy: %v", err)
	}

	// IgnorePublicAcls: public ACLs stop granting.
	setPAB(false, false, false, false)
	if _, err := e.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("k"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	e.wantAnon(t, "GET", "/pab/k", "", 200, "")
	setPAB(false, true, false, false)
	e.wantAnon(t, "GET", "/pab/k", "", 403, "AccessDenied")
	st, err := e.s3.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
	if err != nil || aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Fatalf("policy status: %v", err)
	}

	// RestrictPublicBuckets: a public policy stops granting anonymous access; the owner keeps it.
	if _, err := e.s3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: aws.String(b), Key: aws.String("k"), ACL: types.ObjectCannedACLPrivate}); err != nil {
		t.Fatal(err)
	}
	setPAB(false, false, false, false)
	if _, err := e.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(publicReadPolicy(b))}); err != nil {
		t.Fatal(err)
	}
	e.wantAnon(t, "GET", "/pab/k", "", 200, "")
	setPAB(false, false, false, true)
	e.wantAnon(t, "GET", "/pab/k", "", 403, "AccessDenied")
	if _, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
		t.Fatalf("owner under RestrictPublicBuckets: %v", err)
	}

	if _, err := e.s3.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)}); s3Code(err) != "NoSuchPublicAccessBlockConfiguration" {
		t.Fatalf("after delete: %v", err)
	}
	e.wantAnon(t, "GET", "/pab/k", "", 200, "")
}
