package s3lite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestLifecycleSweep drives the sweeper with the server's clock: objects expire at their
// creation plus Days rounded up to midnight UTC (not a second before), or at a Date;
// prefix and size filters select; disabled rules and other buckets are left alone;
// AbortIncompleteMultipartUpload aborts uploads with their parts; the ticker path runs the
// same sweep.
func TestLifecycleSweep(t *testing.T) {
	ticks := make(chan time.Time) // unbuffered: a second send returns once the first sweep is done
	e := newEnv(t, func(c *Config) { c.sweepTicks = ticks; c.UploadExpiry = 365 * 24 * time.Hour })
	ctx := context.Background()
	b := e.bucket("sweep")
	other := e.bucket("sweepother")
	t0 := time.Now()
	body := lcRule(
		`<Rule><ID>old</ID><Expiration><Days>1</Days></Expiration><Prefix>old/</Prefix><Status>Enabled</Status></Rule>`,
		`<Rule><ID>big</ID><Expiration><Days>2</Days></Expiration><Filter><ObjectSizeGreaterThan>100</ObjectSizeGreaterThan></Filter><Status>Enabled</Status></Rule>`,
		`<Rule><ID>dated</ID><Expiration><Date>2100-01-01T00:00:00Z</Date></Expiration><Filter><Prefix>dated/</Prefix></Filter><Status>Enabled</Status></Rule>`,
		`<Rule><ID>abort</ID><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload><Filter><Prefix>up/</Prefix></Filter><Status>Enabled</Status></Rule>`,
		`<Rule><ID>off</ID><Expiration><Days>1</Days></Expiration><Prefix></Prefix><Status>Disabled</Status></Rule>`)
	if st, out := e.putConfig(t, b, "lifecycle", body, true); st != 200 {
		t.Fatalf("%d %s", st, out)
	}
	for _, k := range []string{"old/a", "old/b", "keep/a", "dated/x"} {
		putPlain(t, e, b, k, []byte("small"))
	}
	putPlain(t, e, b, "keep/big", randBytes(200))
	putPlain(t, e, other, "old/a", []byte("small"))
	for _, k := range []string{"up/1", "other/1"} {
		out, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(k), UploadId: out.UploadId,
			PartNumber: aws.Int32(1), Body: strings.NewReader("part")}); err != nil {
			t.Fatal(err)
		}
	}
	files := countDataFiles(t, e)

	sweepAt := func(at time.Time, want sweepStats) { t.Helper(); lcSweepAt(t, e, at, want) }
	exists := func(bucket, key string) bool {
		_, err := e.srv.st.getObject(ctx, bucket, key)
		return err == nil
	}
	day1 := expiryAfterDays(t0, 1)
	sweepAt(day1.Add(-time.Second), sweepStats{})
	sweepAt(day1, sweepStats{Objects: 2, Uploads: 1})
	if exists(b, "old/a") || exists(b, "old/b") || !exists(b, "keep/a") || !exists(b, "keep/big") || !exists(other, "old/a") {
		t.Error("after the first day: wrong objects left")
	}
	if n := countDataFiles(t, e); n != files-3 {
		t.Errorf("%d body files, want %d (two objects and one part removed)", n, files-3)
	}
	sweepAt(expiryAfterDays(t0, 2), sweepStats{Objects: 1})
	if exists(b, "keep/big") || !exists(b, "keep/a") {
		t.Error("the size rule removed the wrong object")
	}
	uploads, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(uploads.Uploads) != 1 || aws.ToString(uploads.Uploads[0].Key) != "other/1" {
		t.Errorf("uploads left: %+v", uploads.Uploads)
	}
	// The ticker's sweep is the same sweep.
	dated := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	e.now.Store(&dated)
	ticks <- dated
	ticks <- dated
	e.srv.sweeper.close() // waits for the second sweep, which must not overlap the bolt check
	if exists(b, "dated/x") || !exists(b, "keep/a") {
		t.Error("the Date rule did not expire dated/x on the tick, or took keep/a")
	}
}

// TestLifecycleSweepNoncurrentOnly: in a bucket that was never versioned, a configuration
// with only noncurrent and delete-marker rules removes nothing.
func TestLifecycleSweepNoncurrentOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("sweepnc")
	body := lcRule(`<Rule><ID>nc</ID><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><Filter></Filter><Status>Enabled</Status></Rule>`)
	if st, out := e.putConfig(t, b, "lifecycle", body, true); st != 200 {
		t.Fatalf("%d %s", st, out)
	}
	putPlain(t, e, b, "k", []byte("v"))
	later := time.Now().Add(1000 * 24 * time.Hour)
	e.now.Store(&later)
	got, err := e.srv.sweep(ctx)
	if err != nil || got != (sweepStats{}) {
		t.Errorf("sweep: %+v %v", got, err)
	}
	if _, err := e.srv.st.getObject(ctx, b, "k"); err != nil {
		t.Errorf("current object after a noncurrent-only sweep: %v", err)
	}
}
