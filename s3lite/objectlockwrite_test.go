package s3lite

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// TestObjectLockOnWrite: the lock headers of PutObject, CopyObject and
// CreateMultipartUpload lock the new version; without them the bucket's default retention
// does, counted from the write; bad headers are S3's InvalidArgument.
func TestObjectLockOnWrite(t *testing.T) {
	b := "wlock"
	e, t0 := lockEnv(t, b)
	ctx := context.Background()
	until := t0.Add(48 * time.Hour)
	head := func(key string) *s3.HeadObjectOutput {
		t.Helper()
		h, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("put"), Body: strings.NewReader("x"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: aws.Time(until), ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn}); err != nil {
		t.Fatal(err)
	}
	if h := head("put"); h.ObjectLockMode != types.ObjectLockModeCompliance || !aws.ToTime(h.ObjectLockRetainUntilDate).Equal(until) || h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("PutObject lock: %s %v %s", h.ObjectLockMode, h.ObjectLockRetainUntilDate, h.ObjectLockLegalHoldStatus)
	}
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy"), CopySource: aws.String(b + "/put"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(until)}); err != nil {
		t.Fatal(err)
	}
	if h := head("copy"); h.ObjectLockMode != types.ObjectLockModeGovernance || h.ObjectLockLegalHoldStatus != "" {
		t.Errorf("CopyObject lock (the source's is not copied): %s %s", h.ObjectLockMode, h.ObjectLockLegalHoldStatus)
	}
	for _, c := range []struct {
		name string
		in   s3.PutObjectInput
	}{
		{"mode without date", s3.PutObjectInput{ObjectLockMode: types.ObjectLockModeGovernance}},
		{"date without mode", s3.PutObjectInput{ObjectLockRetainUntilDate: aws.Time(until)}},
		{"bad mode", s3.PutObjectInput{ObjectLockMode: "governance", ObjectLockRetainUntilDate: aws.Time(until)}},
		{"past date", s3.PutObjectInput{ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(t0.Add(-time.Hour))}},
		{"bad legal hold", s3.PutObjectInput{ObjectLockLegalHoldStatus: "maybe"}},
	} {
		in := c.in
		in.Bucket, in.Key, in.Body = aws.String(b), aws.String("bad"), strings.NewReader("x")
		if _, err := e.s3.PutObject(ctx, &in); s3Code(err) != "InvalidArgument" {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	if _, err := e.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(b),
		ObjectLockConfiguration: lockConfig(types.ObjectLockRetentionModeGovernance, 3, 0)}); err != nil {
		t.Fatal(err)
	}
	putBody(t, e, b, "default", "x")
	if h := head("default"); h.ObjectLockMode != types.ObjectLockModeGovernance || !aws.ToTime(h.ObjectLockRetainUntilDate).Equal(t0.AddDate(0, 0, 3)) {
		t.Errorf("default retention: %s %v", h.ObjectLockMode, h.ObjectLockRetainUntilDate)
	}
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	if err != nil {
		t.Fatal(err)
	}
	part, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("abc"))})
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if h := head("mp"); h.ObjectLockMode != types.ObjectLockModeGovernance || h.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Errorf("multipart lock (legal hold of the upload, default retention): %s %s", h.ObjectLockMode, h.ObjectLockLegalHoldStatus)
	}
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("mp"), VersionId: done.VersionId, BypassGovernanceRetention: aws.Bool(true)}); s3Code(err) != "AccessDenied" {
		t.Errorf("deleting a multipart version under legal hold: %v", err)
	}
}

// TestObjectLockBypassPolicy: a bucket policy that denies s3:BypassGovernanceRetention
// makes the bypass header count for nothing.
func TestObjectLockBypassPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := lockBucket(t, e, "nobypass")
	out, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("x"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:BypassGovernanceRetention","Resource":"arn:aws:s3:::%s/*"}]}`, b)
	if _, err := e.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	del := &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: out.VersionId, BypassGovernanceRetention: aws.Bool(true)}
	if _, err := e.s3.DeleteObject(ctx, del); s3Code(err) != "AccessDenied" {
		t.Errorf("bypass denied by policy: %v", err)
	}
	if _, err := e.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.DeleteObject(ctx, del); err != nil {
		t.Errorf("bypass allowed: %v", err)
	}
}

// TestObjectLockNoncurrentExpiry: the store's lifecycle expiry of noncurrent versions
// leaves a locked version until its retention runs out (the store's clock is the server's).
func TestObjectLockNoncurrentExpiry(t *testing.T) {
	b := "lcexp"
	e, t0 := lockEnv(t, b)
	ctx := context.Background()
	old := putBody(t, e, b, "k", "old")
	if _, err := e.s3.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(old),
		Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(t0.Add(time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	putBody(t, e, b, "k", "new")
	got, err := e.srv.st.expireNoncurrent(ctx, b, "k", t0.Add(24*time.Hour), 0, false)
	if err != nil || len(got) != 0 {
		t.Fatalf("expiry of a locked noncurrent version: %+v %v", got, err)
	}
	// A legal hold put on the noncurrent version is in its record (MAC'd: read back after
	// a restart) and keeps it past its retention.
	hold := func(st types.ObjectLockLegalHoldStatus) {
		t.Helper()
		if _, err := e.s3.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(old),
			LegalHold: &types.ObjectLockLegalHold{Status: st}}); err != nil {
			t.Fatal(err)
		}
	}
	hold(types.ObjectLockLegalHoldStatusOn)
	e.restart()
	if g, err := e.s3.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(old)}); err != nil || g.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("legal hold of a noncurrent version after restart: %+v %v", g, err)
	}
	if body, code := getBody(t, e, b, "k", old); body != "old" {
		t.Fatalf("noncurrent version after its lock changed: %q %s", body, code)
	}
	later := t0.Add(2 * time.Hour)
	e.now.Store(&later)
	if got, err = e.srv.st.expireNoncurrent(ctx, b, "k", t0.Add(24*time.Hour), 0, false); err != nil || len(got) != 0 {
		t.Fatalf("expiry of a noncurrent version under legal hold: %+v %v", got, err)
	}
	e.now.Store(&t0)
	hold(types.ObjectLockLegalHoldStatusOff)
	e.now.Store(&later)
	got, err = e.srv.st.expireNoncurrent(ctx, b, "k", t0.Add(24*time.Hour), 0, false)
	if err != nil || len(got) != 1 || got[0].VersionID != old {
		t.Errorf("expiry once the retention ran out and the hold is off: %+v %v", got, err)
	}
}

// TestObjectLockMinioGo drives Object Lock through minio-go as mc does.
func TestObjectLockMinioGo(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := "mclock"
	if err := e.mc.MakeBucket(ctx, b, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	mode, days := minio.Governance, uint(1)
	unit := minio.Days
	if err := e.mc.SetObjectLockConfig(ctx, b, &mode, &days, &unit); err != nil {
		t.Fatal(err)
	}
	enabled, gm, gv, gu, err := e.mc.GetObjectLockConfig(ctx, b)
	if err != nil || enabled != "Enabled" || *gm != minio.Governance || *gv != 1 || *gu != minio.Days {
		t.Fatalf("GetObjectLockConfig: %s %v %v %v %v", enabled, gm, gv, gu, err)
	}
	until := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Second)
	info, err := e.mc.PutObject(ctx, b, "k", strings.NewReader("x"), 1, minio.PutObjectOptions{Mode: minio.Compliance, RetainUntilDate: until})
	if err != nil {
		t.Fatal(err)
	}
	rm, ru, err := e.mc.GetObjectRetention(ctx, b, "k", info.VersionID)
	if err != nil || *rm != minio.Compliance || !ru.Equal(until) {
		t.Errorf("GetObjectRetention: %v %v %v", rm, ru, err)
	}
	gov := minio.Governance
	later := until.Add(time.Hour)
	if err := e.mc.PutObjectRetention(ctx, b, "k", minio.PutObjectRetentionOptions{Mode: &gov, RetainUntilDate: &later, VersionID: info.VersionID, GovernanceBypass: true}); s3Code(err) != "AccessDenied" {
		t.Errorf("COMPLIANCE to GOVERNANCE: %v", err)
	}
	on := minio.LegalHoldEnabled
	if err := e.mc.PutObjectLegalHold(ctx, b, "k", minio.PutObjectLegalHoldOptions{Status: &on, VersionID: info.VersionID}); err != nil {
		t.Fatal(err)
	}
	if st, err := e.mc.GetObjectLegalHold(ctx, b, "k", minio.GetObjectLegalHoldOptions{VersionID: info.VersionID}); err != nil || *st != minio.LegalHoldEnabled {
		t.Errorf("GetObjectLegalHold: %v %v", st, err)
	}
	if err := e.mc.RemoveObject(ctx, b, "k", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true}); s3Code(err) != "AccessDenied" {
		t.Errorf("RemoveObject of a locked version: %v", err)
	}
	st, err := e.mc.StatObject(ctx, b, "k", minio.StatObjectOptions{})
	if err != nil || st.Metadata.Get("X-Amz-Object-Lock-Mode") != "COMPLIANCE" || st.Metadata.Get("X-Amz-Object-Lock-Legal-Hold") != "ON" {
		t.Errorf("StatObject: %v %v", st.Metadata, err)
	}
}
