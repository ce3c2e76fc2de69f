package s3lite

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// versionLines lists each version as "key@id" ("key@id*" when latest, "key@id-" for
// a delete marker), in the order S3 lists them.
func versionLines(out *s3.ListObjectVersionsOutput) []string {
	// The SDK splits Version and DeleteMarker elements; both keep list order within
	// their kind, and a key's entries are newest first, so merge by key then order.
	var lines []string
	vi, di := 0, 0
	for vi < len(out.Versions) || di < len(out.DeleteMarkers) {
		takeDM := vi == len(out.Versions) || di < len(out.DeleteMarkers) &&
			(aws.ToString(out.DeleteMarkers[di].Key) < aws.ToString(out.Versions[vi].Key) ||
				aws.ToString(out.DeleteMarkers[di].Key) == aws.ToString(out.Versions[vi].Key) &&
					(aws.ToBool(out.DeleteMarkers[di].IsLatest) || !aws.ToBool(out.Versions[vi].IsLatest) &&
						out.DeleteMarkers[di].LastModified.After(*out.Versions[vi].LastModified)))
		if takeDM {
			d := out.DeleteMarkers[di]
			lines = append(lines, aws.ToString(d.Key)+"@"+aws.ToString(d.VersionId)+"-")
			di++
			continue
		}
		v := out.Versions[vi]
		l := aws.ToString(v.Key) + "@" + aws.ToString(v.VersionId)
		if aws.ToBool(v.IsLatest) {
			l += "*"
		}
		lines = append(lines, l)
		vi++
	}
	return lines
}

func TestListObjectVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("listv")
	putBody(t, e, b, "a", "before versioning") // the null version
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	a2 := putBody(t, e, b, "a", "a2")
	b1 := putBody(t, e, b, "d/b", "b1")
	b2 := putBody(t, e, b, "d/b", "b2")
	c1 := putBody(t, e, b, "d/c", "c1")
	del, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("d/c")})
	if err != nil {
		t.Fatal(err)
	}
	dm := aws.ToString(del.VersionId)
	want := []string{"a@" + a2 + "*", "a@null", "d/b@" + b2 + "*", "d/b@" + b1, "d/c@" + dm + "-", "d/c@" + c1}

	// Raw XML: S3's element order, Version and DeleteMarker interleaved.
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/"+b+"?versions", nil)
	status, body := e.doSigned(t, req)
	if status != 200 || !strings.Contains(string(body), "<DeleteMarker><Key>d/c</Key><VersionId>"+dm+"</VersionId><IsLatest>true</IsLatest>") {
		t.Errorf("raw listing: %d %s", status, body)
	}
	var raw struct {
		Entries []struct {
			XMLName xml.Name
			Key     string `xml:"Key"`
		} `xml:",any"`
	}
	_ = xml.Unmarshal(body, &raw)
	var order []string
	for _, en := range raw.Entries {
		if en.XMLName.Local == "Version" || en.XMLName.Local == "DeleteMarker" {
			order = append(order, en.XMLName.Local[:1]+en.Key)
		}
	}
	if strings.Join(order, ",") != "Va,Va,Vd/b,Vd/b,Dd/c,Vd/c" {
		t.Errorf("element order %v", order)
	}

	out, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if got := versionLines(out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("listing\n got %v\nwant %v", got, want)
	}
	v := out.Versions[0]
	if aws.ToString(v.ETag) == "" || aws.ToInt64(v.Size) != 2 || v.StorageClass != types.ObjectVersionStorageClassStandard || v.Owner == nil || aws.ToString(v.Owner.ID) == "" || v.LastModified == nil {
		t.Errorf("version fields: %+v", v)
	}

	// Pages of two, resumed by key and version markers, give the same listing.
	var paged []string
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(b), MaxKeys: aws.Int32(2)}
	for range 10 {
		page, err := e.s3.ListObjectVersions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, versionLines(page)...)
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
	if strings.Join(paged, " ") != strings.Join(want, " ") {
		t.Errorf("paged\n got %v\nwant %v", paged, want)
	}

	// Delimiter: d/ folds into one common prefix.
	out, err = e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b), Delimiter: aws.String("/")})
	if err != nil || len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "d/" || len(out.Versions) != 2 {
		t.Errorf("delimiter: %+v %v", out, err)
	}
	// Prefix and key-marker.
	out, err = e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b), Prefix: aws.String("d/"), KeyMarker: aws.String("d/b")})
	if got := versionLines(out); err != nil || strings.Join(got, " ") != strings.Join(want[4:], " ") {
		t.Errorf("prefix d/ after d/b: %v %v", got, err)
	}
	// A version-id marker needs a key marker; a malformed one is refused.
	if _, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b), VersionIdMarker: aws.String(b1)}); s3Code(err) != "InvalidArgument" {
		t.Errorf("version-id-marker alone: %v", err)
	}
	// ListObjects shows current objects only: d/c is behind a delete marker.
	lst, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil || len(lst.Contents) != 2 || aws.ToString(lst.Contents[1].Key) != "d/b" {
		t.Errorf("ListObjectsV2: %+v %v", lst, err)
	}
}

// TestListObjectVersionsUnversioned: a bucket that never had versioning lists its objects
// as null versions, and encoding-type=url encodes keys.
func TestListObjectVersionsUnversioned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("listnull")
	putBody(t, e, b, "x y", "1")
	putBody(t, e, b, "z", "2")
	out, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if got := versionLines(out); err != nil || strings.Join(got, " ") != "x y@null* z@null*" {
		t.Errorf("unversioned listing: %v %v", got, err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/"+b+"?versions&encoding-type=url&max-keys=1", nil)
	status, body := e.doSigned(t, req)
	for _, s := range []string{"<Key>x%20y</Key>", "<EncodingType>url</EncodingType>", "<NextKeyMarker>x%20y</NextKeyMarker>", "<NextVersionIdMarker>null</NextVersionIdMarker>", "<IsTruncated>true</IsTruncated>"} {
		if status != 200 || !strings.Contains(string(body), s) {
			t.Errorf("url-encoded listing lacks %s: %d %s", s, status, body)
		}
	}
	if _, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("nosuchbucket")}); s3Code(err) != "NoSuchBucket" {
		t.Errorf("missing bucket: %v", err)
	}
}
