package s3lite

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestUploadExpiry drives the upload sweeper with its own ticks and clock: uploads older
// than Config.UploadExpiry are aborted with their part files, younger ones stay.
func TestUploadExpiry(t *testing.T) {
	ticks := make(chan time.Time) // unbuffered: a second send returns once the first sweep is done
	e := newEnv(t, func(c *Config) { c.UploadExpiry = 10 * time.Minute; c.sweepTicks = ticks })
	ctx := context.Background()
	b := e.bucket("expiry")
	start := time.Now()
	e.now.Store(&start)
	create := func(k string) string {
		out, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UploadId)
	}
	old := create("old")
	if _, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("old"), UploadId: aws.String(old),
		PartNumber: aws.Int32(1), Body: bytes.NewReader(randBytes(1000))}); err != nil {
		t.Fatal(err)
	}
	before := countDataFiles(t, e)
	later := start.Add(11 * time.Minute) // within the signature skew
	e.now.Store(&later)
	young := create("young")
	ticks <- later
	ticks <- later
	e.srv.sweeper.close() // waits for the second sweep, which must not overlap the bolt check
	out, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 1 || aws.ToString(out.Uploads[0].UploadId) != young {
		t.Errorf("uploads after the sweep: %d, want only the young one", len(out.Uploads))
	}
	if n := countDataFiles(t, e); n != before-1 {
		t.Errorf("%d body files, want %d (the expired upload's part removed)", n, before-1)
	}
}

// TestDeleteObjectsNeedsContentMD5: DeleteObjects without Content-MD5 or an
// x-amz-checksum-* answers 400 MissingContentMD5 and deletes nothing, as S3 does; with
// either it deletes.
func TestDeleteObjectsNeedsContentMD5(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("delmd5")
	putPlain(t, e, b, "k", []byte("x"))
	body := `<Delete><Object><Key>k</Key></Object></Delete>`
	send := func(hdr http.Header) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/"+b+"?delete=", strings.NewReader(body))
		for k, v := range hdr {
			req.Header[k] = v
		}
		st, out := e.doSigned(t, req)
		return st, string(out)
	}
	if st, out := send(nil); st != 400 || !strings.Contains(out, "<Code>MissingContentMD5</Code>") {
		t.Errorf("without Content-MD5: %d %s", st, out)
	}
	if _, code := getCode(e, b, "k"); code != "" {
		t.Errorf("the object is gone after a refused DeleteObjects: %q", code)
	}
	sum := md5.Sum([]byte(body))
	if st, out := send(http.Header{"Content-Md5": {base64.StdEncoding.EncodeToString(sum[:])}}); st != 200 {
		t.Errorf("with Content-MD5: %d %s", st, out)
	}
	if _, code := getCode(e, b, "k"); code != "NoSuchKey" {
		t.Errorf("after DeleteObjects: %q", code)
	}
	putPlain(t, e, b, "k", []byte("x"))
	if _, err := e.s3.DeleteObjects(context.Background(), &s3.DeleteObjectsInput{Bucket: aws.String(b),
		Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("k")}}}}); err != nil {
		t.Errorf("aws sdk DeleteObjects (x-amz-checksum-crc32): %v", err)
	}
}
