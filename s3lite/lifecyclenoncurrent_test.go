package s3lite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// lcSweepAt sets e's clock to at, sweeps and checks what the sweep removed; the clock
// goes back to real time after, for the signatures of the requests that follow.
func lcSweepAt(t *testing.T, e *env, at time.Time, want sweepStats) {
	t.Helper()
	e.now.Store(&at)
	got, err := e.srv.sweep(context.Background())
	e.now.Store(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("sweep at %v: %+v, want %+v", at, got, want)
	}
}

// listedVersions is ListObjectVersions of b as versionLines gives it, one string.
func listedVersions(t *testing.T, e *env, b string) string {
	t.Helper()
	out, err := e.s3.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(versionLines(out), " ")
}

// lcPutAt PUTs body at b/key with the clock at at and returns the version id.
func lcPutAt(t *testing.T, e *env, b, key, body string, at time.Time) string {
	t.Helper()
	e.now.Store(&at)
	return putBody(t, e, b, key, body)
}

// lcDelete DELETEs b/key (version vid if not "") and returns the version id answered.
func lcDelete(t *testing.T, e *env, b, key, vid string) string {
	t.Helper()
	in := &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(key)}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := e.s3.DeleteObject(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

// TestLifecycleNoncurrentExpiration: NoncurrentDays counts from when a version became
// noncurrent, rounded up to midnight UTC (not a second before), NewerNoncurrentVersions
// keeps the newest noncurrent versions, the current version stays and the prefix filter
// leaves other keys alone.
func TestLifecycleNoncurrentExpiration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bucket("lcnoncurrent")
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	body := lcRule(`<Rule><ID>nc</ID><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration><Filter><Prefix>k</Prefix></Filter><Status>Enabled</Status></Rule>`)
	if st, out := e.putConfig(t, b, "lifecycle", body, true); st != 200 {
		t.Fatalf("%d %s", st, out)
	}
	t0 := time.Now().UTC()
	var ids, other []string
	for i, v := range []string{"one", "two", "three"} {
		at := t0.Add(time.Duration(i) * time.Minute)
		ids = append(ids, lcPutAt(t, e, b, "k", v, at))
		other = append(other, lcPutAt(t, e, b, "x/k", v, at))
	}
	files := countDataFiles(t, e)
	// one became noncurrent at t0+1m, two at t0+2m; two is the newest noncurrent version.
	due := expiryAfterDays(t0.Add(time.Minute), 1)
	lcSweepAt(t, e, due.Add(-time.Second), sweepStats{})
	lcSweepAt(t, e, t0.Add(3*24*time.Hour), sweepStats{Noncurrent: 1})
	want := "k@" + ids[2] + "* k@" + ids[1] + " x/k@" + other[2] + "* x/k@" + other[1] + " x/k@" + other[0]
	if got := listedVersions(t, e, b); got != want {
		t.Errorf("versions after three days:\n got %s\nwant %s", got, want)
	}
	if n := countDataFiles(t, e); n != files-1 {
		t.Errorf("%d body files, want %d", n, files-1)
	}
	if got, _ := getBody(t, e, b, "k", ""); got != "three" {
		t.Errorf("current version: %q", got)
	}
	lcSweepAt(t, e, t0.Add(30*24*time.Hour), sweepStats{})
}

// TestLifecycleExpiredDeleteMarker: ExpiredObjectDeleteMarker removes a delete marker that
// is its key's only version, not one with versions under it; with NoncurrentDays in the
// same rule, the marker left alone by the expiry of its versions goes in the same sweep.
func TestLifecycleExpiredDeleteMarker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bucket("lcmarker")
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	body := lcRule(
		`<Rule><ID>dm</ID><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><Filter><Prefix>m/</Prefix></Filter><Status>Enabled</Status></Rule>`,
		`<Rule><ID>both</ID><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><Filter><Prefix>both/</Prefix></Filter><Status>Enabled</Status></Rule>`)
	if st, out := e.putConfig(t, b, "lifecycle", body, true); st != 200 {
		t.Fatalf("%d %s", st, out)
	}
	t0 := time.Now().UTC()
	lone := lcPutAt(t, e, b, "m/lone", "v", t0)
	lcDelete(t, e, b, "m/lone", "")
	lcDelete(t, e, b, "m/lone", lone)
	covered := lcPutAt(t, e, b, "m/covered", "v", t0)
	coveredDM := lcDelete(t, e, b, "m/covered", "")
	lcPutAt(t, e, b, "x/lone", "v", t0) // outside both rules
	xDM := lcDelete(t, e, b, "x/lone", "")
	lcDelete(t, e, b, "x/lone", "")
	both := lcPutAt(t, e, b, "both/k", "v", t0)
	bothDM := lcDelete(t, e, b, "both/k", "")

	lcSweepAt(t, e, t0.Add(time.Hour), sweepStats{Noncurrent: 1})
	want := "both/k@" + bothDM + "- both/k@" + both + " m/covered@" + coveredDM + "- m/covered@" + covered
	if got := listedVersions(t, e, b); !strings.HasPrefix(got, want) || !strings.Contains(got, "x/lone@"+xDM+"-") {
		t.Errorf("versions after the first sweep:\n got %s\nwant %s and x/lone's two markers", got, want)
	}
	lcSweepAt(t, e, t0.Add(3*24*time.Hour), sweepStats{Noncurrent: 2}) // both/k's version and then its marker
	if got := listedVersions(t, e, b); !strings.HasPrefix(got, "m/covered@"+coveredDM+"- m/covered@"+covered+" x/lone@") {
		t.Errorf("versions after three days: %s", got)
	}
}

// TestLifecycleExpirationVersioned: in a versioned bucket, Expiration Days makes a delete
// marker and the current version noncurrent; the marker stays while a version is under
// it and goes once it is alone and its own Days have passed.
func TestLifecycleExpirationVersioned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bucket("lcexpversioned")
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	body := lcRule(`<Rule><ID>days</ID><Expiration><Days>1</Days></Expiration><Filter></Filter><Status>Enabled</Status></Rule>`)
	if st, out := e.putConfig(t, b, "lifecycle", body, true); st != 200 {
		t.Fatalf("%d %s", st, out)
	}
	t0 := time.Now().UTC()
	v1 := lcPutAt(t, e, b, "d", "data", t0)
	files := countDataFiles(t, e)
	day1 := expiryAfterDays(t0, 1)
	lcSweepAt(t, e, day1, sweepStats{Objects: 1})
	if _, code := getBody(t, e, b, "d", ""); code != "NoSuchKey" {
		t.Errorf("GET after expiry: %s", code)
	}
	if got, _ := getBody(t, e, b, "d", v1); got != "data" {
		t.Errorf("the expired version: %q", got)
	}
	out, err := e.s3.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.DeleteMarkers) != 1 || !aws.ToBool(out.DeleteMarkers[0].IsLatest) || len(out.Versions) != 1 ||
		aws.ToString(out.Versions[0].VersionId) != v1 || aws.ToBool(out.Versions[0].IsLatest) {
		t.Errorf("versions after expiry: %v", versionLines(out))
	}
	if n := countDataFiles(t, e); n != files {
		t.Errorf("%d body files, want %d (the version keeps its body)", n, files)
	}
	lcSweepAt(t, e, day1.Add(5*24*time.Hour), sweepStats{}) // the marker covers v1
	lcDelete(t, e, b, "d", v1)
	lcSweepAt(t, e, day1.Add(6*24*time.Hour), sweepStats{Noncurrent: 1})
	if got := listedVersions(t, e, b); got != "" {
		t.Errorf("versions after the lone marker's expiry: %s", got)
	}
}
