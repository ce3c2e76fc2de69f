package s3lite

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// lockBucket creates bucket b with Object Lock through aws-sdk-go-v2.
func lockBucket(t *testing.T, e *env, b string) string {
	t.Helper()
	if _, err := e.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	return b
}

// lockEnv starts a server whose clock stands at t0 (whole seconds, now) with bucket b
// created with Object Lock.
func lockEnv(t *testing.T, b string) (*env, time.Time) {
	t.Helper()
	e := newEnv(t)
	t0 := time.Now().UTC().Truncate(time.Second)
	e.now.Store(&t0)
	lockBucket(t, e, b)
	return e, t0
}

func lockConfig(mode types.ObjectLockRetentionMode, days, years int32) *types.ObjectLockConfiguration {
	c := &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}
	if mode != "" {
		d := &types.DefaultRetention{Mode: mode}
		if days != 0 {
			d.Days = aws.Int32(days)
		}
		if years != 0 {
			d.Years = aws.Int32(years)
		}
		c.Rule = &types.ObjectLockRule{DefaultRetention: d}
	}
	return c
}

// TestObjectLockConfiguration: a bucket created with Object Lock is versioned for good and
// takes a default retention; the configuration errors are S3's; a plain bucket gets Object
// Lock only once its versioning is Enabled; the configuration survives a restart.
func TestObjectLockConfiguration(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := lockBucket(t, e, "locked")
	v, err := e.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning of a bucket with Object Lock: %+v %v", v, err)
	}
	got, err := e.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(b)})
	if err != nil || got.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled || got.ObjectLockConfiguration.Rule != nil {
		t.Fatalf("GetObjectLockConfiguration after create: %+v %v", got, err)
	}
	if _, err := e.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); s3Code(err) != "InvalidBucketState" {
		t.Errorf("suspending versioning of a bucket with Object Lock: %v", err)
	}
	for _, c := range []struct {
		name string
		cfg  *types.ObjectLockConfiguration
		code string
	}{
		{"days and years", lockConfig(types.ObjectLockRetentionModeGovernance, 1, 1), "MalformedXML"},
		{"zero days", &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled, Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(0)}}}, "InvalidRetentionPeriod"},
		{"negative years", lockConfig(types.ObjectLockRetentionModeGovernance, 0, -1), "InvalidRetentionPeriod"},
		{"lower case mode", lockConfig("governance", 1, 0), "MalformedXML"},
		{"no period", lockConfig(types.ObjectLockRetentionModeGovernance, 0, 0), "MalformedXML"},
		{"disabled", &types.ObjectLockConfiguration{ObjectLockEnabled: "Disabled"}, "MalformedXML"},
	} {
		if c.name == "no period" {
			c.cfg.Rule = &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance}}
		}
		if _, err := e.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(b), ObjectLockConfiguration: c.cfg}); s3Code(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	want := lockConfig(types.ObjectLockRetentionModeCompliance, 0, 2)
	if _, err := e.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(b), ObjectLockConfiguration: want}); err != nil {
		t.Fatal(err)
	}

	plain := e.bucket("plain")
	if _, err := e.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(plain), ObjectLockConfiguration: want}); s3Code(err) != "InvalidBucketState" {
		t.Errorf("Object Lock on an unversioned bucket: %v", err)
	}
	setVersioning(t, e, plain, types.BucketVersioningStatusEnabled)
	if _, err := e.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(plain), ObjectLockConfiguration: want}); err != nil {
		t.Errorf("Object Lock on a versioned bucket: %v", err)
	}

	e.restart()
	got, err = e.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	d := got.ObjectLockConfiguration.Rule.DefaultRetention
	if d.Mode != types.ObjectLockRetentionModeCompliance || aws.ToInt32(d.Years) != 2 || d.Days != nil {
		t.Errorf("default retention after restart: %+v", d)
	}
}

// TestObjectLockRetention drives retention through aws-sdk-go-v2 with the server's clock:
// a version under GOVERNANCE retention is removed only with the bypass, its retention is
// shortened only with it; COMPLIANCE is removed by no one until it expires; delete markers
// and new versions are always allowed.
func TestObjectLockRetention(t *testing.T) {
	b := "retain"
	e, t0 := lockEnv(t, b)
	ctx := context.Background()
	vid := putBody(t, e, b, "k", "one")
	if _, err := e.s3.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k")}); s3Code(err) != "NoSuchObjectLockConfiguration" {
		t.Errorf("GetObjectRetention without retention: %v", err)
	}
	until := t0.Add(5 * time.Minute) // within SigV4's clock skew of the requests that follow
	putRetention := func(mode types.ObjectLockRetentionMode, until time.Time, bypass bool) error {
		_, err := e.s3.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(vid),
			Retention: &types.ObjectLockRetention{Mode: mode, RetainUntilDate: aws.Time(until)}, BypassGovernanceRetention: aws.Bool(bypass)})
		return err
	}
	deleteVersion := func(bypass bool) error {
		_, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(vid), BypassGovernanceRetention: aws.Bool(bypass)})
		return err
	}
	if err := putRetention(types.ObjectLockRetentionModeGovernance, until, false); err != nil {
		t.Fatal(err)
	}
	r, err := e.s3.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || r.Retention.Mode != types.ObjectLockRetentionModeGovernance || !r.Retention.RetainUntilDate.Equal(until) {
		t.Fatalf("GetObjectRetention: %+v %v", r, err)
	}
	h, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || h.ObjectLockMode != types.ObjectLockModeGovernance || !aws.ToTime(h.ObjectLockRetainUntilDate).Equal(until) || h.ObjectLockLegalHoldStatus != "" {
		t.Errorf("HEAD lock headers: %+v %v", h, err)
	}
	if err := deleteVersion(false); s3Code(err) != "AccessDenied" {
		t.Errorf("deleting a GOVERNANCE version: %v", err)
	}
	if err := putRetention(types.ObjectLockRetentionModeGovernance, until.Add(-time.Minute), false); s3Code(err) != "AccessDenied" {
		t.Errorf("shortening GOVERNANCE retention: %v", err)
	}
	if err := putRetention(types.ObjectLockRetentionModeGovernance, until.Add(time.Minute), false); err != nil {
		t.Errorf("extending GOVERNANCE retention: %v", err)
	}
	if err := putRetention(types.ObjectLockRetentionModeCompliance, until, false); s3Code(err) != "AccessDenied" {
		t.Errorf("GOVERNANCE to COMPLIANCE without bypass: %v", err)
	}
	if err := putRetention(types.ObjectLockRetentionModeCompliance, until, true); err != nil {
		t.Errorf("GOVERNANCE to COMPLIANCE with bypass: %v", err)
	}
	if err := putRetention(types.ObjectLockRetentionModeGovernance, until.Add(time.Minute), true); s3Code(err) != "AccessDenied" {
		t.Errorf("COMPLIANCE to GOVERNANCE: %v", err)
	}
	if err := putRetention(types.ObjectLockRetentionModeCompliance, t0.Add(-time.Minute), true); s3Code(err) != "InvalidArgument" {
		t.Errorf("retention in the past: %v", err)
	}

	// Removing nothing is allowed: a delete marker, an overwrite.
	dm, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || !aws.ToBool(dm.DeleteMarker) {
		t.Fatalf("delete marker over a locked version: %+v %v", dm, err)
	}
	putBody(t, e, b, "k", "two")
	if err := deleteVersion(true); s3Code(err) != "AccessDenied" {
		t.Errorf("deleting a COMPLIANCE version with bypass: %v", err)
	}
	del, err := e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), BypassGovernanceRetention: aws.Bool(true),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("k"), VersionId: aws.String(vid)}, {Key: aws.String("k"), VersionId: dm.VersionId}}}})
	if err != nil || len(del.Errors) != 1 || aws.ToString(del.Errors[0].Code) != "AccessDenied" || aws.ToString(del.Errors[0].VersionId) != vid || len(del.Deleted) != 1 {
		t.Errorf("DeleteObjects with a locked version: %+v %v", del, err)
	}

	later := until.Add(time.Second)
	e.now.Store(&later)
	if err := deleteVersion(false); err != nil {
		t.Errorf("deleting after the retention expired: %v", err)
	}
}

// TestObjectLockLegalHold: a legal hold keeps a version whatever the bypass, until it is
// turned OFF; a bucket without Object Lock answers InvalidRequest.
func TestObjectLockLegalHold(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := lockBucket(t, e, "hold")
	vid := putBody(t, e, b, "k", "x")
	if _, err := e.s3.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k")}); s3Code(err) != "NoSuchObjectLockConfiguration" {
		t.Errorf("GetObjectLegalHold never set: %v", err)
	}
	hold := func(st types.ObjectLockLegalHoldStatus) error {
		_, err := e.s3.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k"), LegalHold: &types.ObjectLockLegalHold{Status: st}})
		return err
	}
	if err := hold("on"); s3Code(err) != "MalformedXML" {
		t.Errorf("legal hold status on: %v", err)
	}
	if err := hold(types.ObjectLockLegalHoldStatusOn); err != nil {
		t.Fatal(err)
	}
	g, err := e.s3.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(vid)})
	if err != nil || g.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("GetObjectLegalHold: %+v %v", g, err)
	}
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(vid), BypassGovernanceRetention: aws.Bool(true)}); s3Code(err) != "AccessDenied" {
		t.Errorf("deleting a version under legal hold: %v", err)
	}
	if err := hold(types.ObjectLockLegalHoldStatusOff); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(vid)}); err != nil {
		t.Errorf("deleting after the legal hold is off: %v", err)
	}

	// S3 takes the lock bodies only with Content-MD5 or a checksum.
	req, _ := http.NewRequest(http.MethodPut, e.ts.URL+"/"+b+"/k?legal-hold", strings.NewReader("<LegalHold><Status>ON</Status></LegalHold>"))
	if st, out := e.doSigned(t, req); st != 400 || !strings.Contains(string(out), "<Code>MissingContentMD5</Code>") {
		t.Errorf("PutObjectLegalHold without Content-MD5: %d %s", st, out)
	}

	plain := e.bucket("plainhold")
	putBody(t, e, plain, "k", "x")
	if _, err := e.s3.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(plain), Key: aws.String("k"), LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn}}); s3Code(err) != "InvalidRequest" {
		t.Errorf("PutObjectLegalHold without Object Lock: %v", err)
	}
	if _, err := e.s3.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(plain), Key: aws.String("k")}); s3Code(err) != "InvalidRequest" {
		t.Errorf("GetObjectRetention without Object Lock: %v", err)
	}
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(plain), Key: aws.String("k"), Body: strings.NewReader("x"),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn}); s3Code(err) != "InvalidRequest" {
		t.Errorf("PutObject with a legal hold without Object Lock: %v", err)
	}
}
