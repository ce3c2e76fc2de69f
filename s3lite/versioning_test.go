package s3lite

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

// setVersioning sets bucket b's versioning status through the SDK.
func setVersioning(t *testing.T, e *env, b string, status types.BucketVersioningStatus) {
	t.Helper()
	if _, err := e.s3.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{Bucket: aws.String(b),
		VersioningConfiguration: &types.VersioningConfiguration{Status: status}}); err != nil {
		t.Fatal(err)
	}
}

// putBody PUTs body at b/key and returns the version id answered ("" if none).
func putBody(t *testing.T, e *env, b, key, body string) string {
	t.Helper()
	out, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

// getBody GETs b/key (version vid if not "") and returns its body, or the S3 error code.
func getBody(t *testing.T, e *env, b, key, vid string) (string, string) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := e.s3.GetObject(context.Background(), in)
	if err != nil {
		return "", s3Code(err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	if vid != "" && aws.ToString(out.VersionId) != vid {
		t.Errorf("GET %s?versionId=%s answered version %q", key, vid, aws.ToString(out.VersionId))
	}
	return string(data), ""
}

func TestBucketVersioningConfiguration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("vconf")
	got, err := e.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
	if err != nil || got.Status != "" || got.MFADelete != "" {
		t.Fatalf("unversioned bucket: %+v %v", got, err)
	}
	for _, st := range []types.BucketVersioningStatus{types.BucketVersioningStatusEnabled, types.BucketVersioningStatusSuspended, types.BucketVersioningStatusEnabled} {
		setVersioning(t, e, b, st)
		if got, err = e.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b)}); err != nil || got.Status != st {
			t.Errorf("after %s: %+v %v", st, got.Status, err)
		}
	}
	for name, tc := range map[string]struct {
		cfg  types.VersioningConfiguration
		code string
	}{
		"bad status":     {types.VersioningConfiguration{Status: "On"}, "MalformedXML"},
		"no status":      {types.VersioningConfiguration{}, "MalformedXML"},
		"mfa delete":     {types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled, MFADelete: types.MFADeleteEnabled}, "AccessDenied"},
		"bad mfa delete": {types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled, MFADelete: "Maybe"}, "MalformedXML"},
	} {
		_, err := e.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b), VersioningConfiguration: &tc.cfg})
		if s3Code(err) != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
	req, _ := http.NewRequest(http.MethodPut, e.ts.URL+"/"+b+"?versioning", strings.NewReader("<VersioningConfiguration><Status>Enabled"))
	if status, body := e.doSigned(t, req); status != 400 || !strings.Contains(string(body), "MalformedXML") {
		t.Errorf("malformed XML: %d %s", status, body)
	}
	if _, err := e.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("nosuch")}); s3Code(err) != "NoSuchBucket" {
		t.Errorf("missing bucket: %v", err)
	}
	// MFA delete with a token still cannot be honoured here.
	req, _ = http.NewRequest(http.MethodPut, e.ts.URL+"/"+b+"?versioning",
		strings.NewReader("<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>"))
	req.Header.Set("X-Amz-Mfa", "serial 123456")
	if status, _ := e.doSigned(t, req); status != http.StatusNotImplemented {
		t.Errorf("MFA delete with a token: %d", status)
	}
}

func TestObjectVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("versions")
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	v1 := putBody(t, e, b, "k", "one")
	v2 := putBody(t, e, b, "k", "two")
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	if got, _ := getBody(t, e, b, "k", ""); got != "two" {
		t.Errorf("current: %q", got)
	}
	if got, _ := getBody(t, e, b, "k", v1); got != "one" {
		t.Errorf("v1: %q", got)
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v1)})
	if err != nil || aws.ToInt64(head.ContentLength) != 3 || aws.ToString(head.VersionId) != v1 {
		t.Errorf("HEAD v1: %+v %v", head, err)
	}
	if _, code := getBody(t, e, b, "k", "not-a-version"); code != "InvalidArgument" {
		t.Errorf("malformed version id: %s", code)
	}
	if _, code := getBody(t, e, b, "k", strings.Repeat("0", versionIDLen)); code != "NoSuchVersion" {
		t.Errorf("unknown version id: %s", code)
	}

	del, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("delete: %+v %v", del, err)
	}
	dm := aws.ToString(del.VersionId)
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/"+b+"/k", nil)
	status, h, _ := e.doSignedHeader(t, req)
	if status != 404 || h.Get("X-Amz-Delete-Marker") != "true" || h.Get("X-Amz-Version-Id") != dm {
		t.Errorf("GET behind a delete marker: %d %v", status, h)
	}
	req, _ = http.NewRequest(http.MethodHead, e.ts.URL+"/"+b+"/k?versionId="+dm, nil)
	status, h, _ = e.doSignedHeader(t, req)
	if status != http.StatusMethodNotAllowed || h.Get("X-Amz-Delete-Marker") != "true" || h.Get("X-Amz-Version-Id") != dm {
		t.Errorf("HEAD of a delete marker: %d %v", status, h)
	}
	if _, code := getBody(t, e, b, "k", dm); code != "MethodNotAllowed" {
		t.Errorf("GET of a delete marker: %s", code)
	}
	lst, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil || len(lst.Contents) != 0 {
		t.Errorf("ListObjectsV2 behind a delete marker: %d %v", len(lst.Contents), err)
	}
	if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); s3Code(err) != "BucketNotEmpty" {
		t.Errorf("DeleteBucket with versions: %v", err)
	}

	// Removing the delete marker brings v2 back; removing v2 makes v1 current.
	del, err = e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(dm)})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != dm {
		t.Errorf("delete the marker: %+v %v", del, err)
	}
	if got, _ := getBody(t, e, b, "k", ""); got != "two" {
		t.Errorf("current after removing the marker: %q", got)
	}
	files := countDataFiles(t, e)
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v2)}); err != nil {
		t.Fatal(err)
	}
	if n := countDataFiles(t, e); n != files-1 {
		t.Errorf("%d body files after deleting v2, want %d", n, files-1)
	}
	if got, _ := getBody(t, e, b, "k", ""); got != "one" {
		t.Errorf("current after removing v2: %q", got)
	}
	// Deleting a version that is gone is no error, as in S3.
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v2)}); err != nil {
		t.Errorf("delete a removed version: %v", err)
	}
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("bad!")}); s3Code(err) != "InvalidArgument" {
		t.Errorf("delete a malformed version: %v", err)
	}
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Errorf("DeleteBucket once every version is gone: %v", err)
	}
}

// TestSuspendedVersioning: a suspended bucket writes the null version, which replaces the
// previous null version (its body removed) and keeps the versions made while enabled.
func TestSuspendedVersioning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("suspended")
	if v := putBody(t, e, b, "k", "plain"); v != "" {
		t.Errorf("unversioned PUT answered version %q", v)
	}
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	v1 := putBody(t, e, b, "k", "enabled")
	setVersioning(t, e, b, types.BucketVersioningStatusSuspended)
	files := countDataFiles(t, e)
	if v := putBody(t, e, b, "k", "null-1"); v != "" {
		t.Errorf("suspended PUT answered version %q", v)
	}
	// The first null version (the unversioned object) is replaced: one file in, one out.
	if n := countDataFiles(t, e); n != files {
		t.Errorf("%d body files, want %d", n, files)
	}
	putBody(t, e, b, "k", "null-2")
	if n := countDataFiles(t, e); n != files {
		t.Errorf("%d body files after a second null write, want %d", n, files)
	}
	if got, _ := getBody(t, e, b, "k", "null"); got != "null-2" {
		t.Errorf("null version: %q", got)
	}
	if got, _ := getBody(t, e, b, "k", v1); got != "enabled" {
		t.Errorf("v1: %q", got)
	}
	lv, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if err != nil || len(lv.Versions) != 2 || aws.ToString(lv.Versions[0].VersionId) != "null" || !aws.ToBool(lv.Versions[0].IsLatest) ||
		aws.ToString(lv.Versions[1].VersionId) != v1 || aws.ToBool(lv.Versions[1].IsLatest) {
		t.Fatalf("versions: %+v %v", lv, err)
	}
	// A suspended DELETE makes a null delete marker, replacing the null version.
	del, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != "null" {
		t.Errorf("suspended delete: %+v %v", del, err)
	}
	lv, err = e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if err != nil || len(lv.Versions) != 1 || len(lv.DeleteMarkers) != 1 || aws.ToString(lv.DeleteMarkers[0].VersionId) != "null" {
		t.Errorf("after a suspended delete: %+v %v", lv, err)
	}
}

func TestVersionedCopyAndMultipart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("vcopy")
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	v1 := putBody(t, e, b, "src", "first")
	putBody(t, e, b, "src", "second")
	cp, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst"), CopySource: aws.String(b + "/src?versionId=" + v1)})
	if err != nil || aws.ToString(cp.CopySourceVersionId) != v1 || aws.ToString(cp.VersionId) == "" {
		t.Fatalf("copy v1: %+v %v", cp, err)
	}
	if got, _ := getBody(t, e, b, "dst", ""); got != "first" {
		t.Errorf("copy of v1: %q", got)
	}
	// Restoring an old version onto its own key is allowed.
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("src"), CopySource: aws.String(b + "/src?versionId=" + v1)}); err != nil {
		t.Errorf("restore v1: %v", err)
	}
	del, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("src")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("x"), CopySource: aws.String(b + "/src?versionId=" + aws.ToString(del.VersionId))}); s3Code(err) != "InvalidRequest" {
		t.Errorf("copy of a delete marker: %v", err)
	}
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("x"), CopySource: aws.String(b + "/src")}); s3Code(err) != "NoSuchKey" {
		t.Errorf("copy behind a delete marker: %v", err)
	}

	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String(b + "/src?versionId=" + v1)})
	if err != nil || aws.ToString(pc.CopySourceVersionId) != v1 {
		t.Fatalf("UploadPartCopy of v1: %+v %v", pc, err)
	}
	done, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: pc.CopyPartResult.ETag}}}})
	if err != nil || aws.ToString(done.VersionId) == "" {
		t.Fatalf("complete: %+v %v", done, err)
	}
	if got, _ := getBody(t, e, b, "mp", aws.ToString(done.VersionId)); got != "first" {
		t.Errorf("multipart version: %q", got)
	}
}

func TestDeleteObjectsWithVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("vdelete")
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	v1 := putBody(t, e, b, "a", "1")
	putBody(t, e, b, "b", "2")
	out, err := e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("a"), VersionId: aws.String(v1)}, {Key: aws.String("b")}}}})
	if err != nil || len(out.Errors) != 0 || len(out.Deleted) != 2 {
		t.Fatalf("DeleteObjects: %+v %v", out, err)
	}
	for _, d := range out.Deleted {
		switch aws.ToString(d.Key) {
		case "a":
			if aws.ToString(d.VersionId) != v1 || aws.ToBool(d.DeleteMarker) {
				t.Errorf("a: %+v", d)
			}
		case "b":
			if !aws.ToBool(d.DeleteMarker) || aws.ToString(d.DeleteMarkerVersionId) == "" {
				t.Errorf("b: %+v", d)
			}
			// Removing the marker by id names it as a delete marker.
			again, err := e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
				{Key: aws.String("b"), VersionId: d.DeleteMarkerVersionId}}}})
			if err != nil || len(again.Deleted) != 1 || !aws.ToBool(again.Deleted[0].DeleteMarker) ||
				aws.ToString(again.Deleted[0].DeleteMarkerVersionId) != aws.ToString(d.DeleteMarkerVersionId) {
				t.Errorf("remove the marker: %+v %v", again, err)
			}
		}
	}
	if got, _ := getBody(t, e, b, "b", ""); got != "2" {
		t.Errorf("b after removing its marker: %q", got)
	}
	if _, code := getBody(t, e, b, "a", ""); code != "NoSuchKey" {
		t.Errorf("a after removing its only version: %s", code)
	}
}

// TestVersionsMinioGo drives versions through minio-go as mc does.
func TestVersionsMinioGo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("vminio")
	if err := e.mc.EnableVersioning(ctx, b); err != nil {
		t.Fatal(err)
	}
	cfg, err := e.mc.GetBucketVersioning(ctx, b)
	if err != nil || !cfg.Enabled() {
		t.Fatalf("versioning: %+v %v", cfg, err)
	}
	var ids []string
	for _, body := range []string{"a", "bb", "ccc"} {
		info, err := e.mc.PutObject(ctx, b, "k", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.VersionID)
	}
	obj, err := e.mc.GetObject(ctx, b, "k", minio.GetObjectOptions{VersionID: ids[1]})
	if err != nil {
		t.Fatal(err)
	}
	if data, err := io.ReadAll(obj); err != nil || string(data) != "bb" {
		t.Errorf("version 2: %q %v", data, err)
	}
	var listed []string
	for o := range e.mc.ListObjects(ctx, b, minio.ListObjectsOptions{WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		listed = append(listed, o.VersionID)
	}
	if strings.Join(listed, ",") != ids[2]+","+ids[1]+","+ids[0] {
		t.Errorf("listed %v, want newest first %v", listed, ids)
	}
	if err := e.mc.RemoveObject(ctx, b, "k", minio.RemoveObjectOptions{VersionID: ids[0]}); err != nil {
		t.Fatal(err)
	}
	if _, code := getBody(t, e, b, "k", ids[0]); code != "NoSuchVersion" {
		t.Errorf("removed version: %s", code)
	}
	if err := e.mc.SuspendVersioning(ctx, b); err != nil {
		t.Fatal(err)
	}
	if cfg, err = e.mc.GetBucketVersioning(ctx, b); err != nil || !cfg.Suspended() {
		t.Errorf("suspended: %+v %v", cfg, err)
	}
}
