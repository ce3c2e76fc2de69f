package s3lite

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// luResult is the ListMultipartUploadsResult as a client reads it.
type luResult struct {
	KeyMarker          string
	UploadIDMarker     string `xml:"UploadIdMarker"`
	NextKeyMarker      string
	NextUploadIDMarker string `xml:"NextUploadIdMarker"`
	Prefix             string
	Delimiter          string
	EncodingType       string
	MaxUploads         int
	IsTruncated        bool
	Uploads            []struct {
		Key      string
		UploadID string `xml:"UploadId"`
	} `xml:"Upload"`
	CommonPrefixes []struct{ Prefix string }
}

// entries lists the result as "u <key> <id>" and "p <prefix>" in key
// order, the uploads of one key in response order.
func (r luResult) entries() []string {
	type entry struct{ key, s string }
	var es []entry
	for _, u := range r.Uploads {
		es = append(es, entry{u.Key, "u " + u.Key + " " + u.UploadID})
	}
	for _, p := range r.CommonPrefixes {
		es = append(es, entry{p.Prefix, "p " + p.Prefix})
	}
	slices.SortStableFunc(es, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	var out []string
	for _, e := range es {
		out = append(out, e.s)
	}
	return out
}

// listUploadsRaw sends a signed ListMultipartUploads with query params.
func listUploadsRaw(t *testing.T, e *env, b string, params url.Values) (int, string, luResult) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ts.URL+"/"+b+"?uploads&"+params.Encode(), nil)
	status, body := e.doSigned(t, req)
	var res luResult
	if status == 200 {
		if err := xml.Unmarshal(body, &res); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	}
	return status, string(body), res
}

// TestListMultipartUploads checks ListMultipartUploads against S3's
// documented semantics: uploads sorted by key, then by initiation time;
// key-marker alone lists keys after it, with upload-id-marker the uploads of
// that key after the marker upload; upload-id-marker without key-marker is
// ignored; prefix and delimiter (CommonPrefixes) as in ListObjects, common
// prefixes counting toward max-uploads; NextKeyMarker/NextUploadIdMarker
// resume a truncated listing, so paging with any page size returns every
// entry exactly once; encoding-type=url encodes Delimiter, KeyMarker,
// Prefix, NextKeyMarker, Key and Prefix of CommonPrefixes.
func TestListMultipartUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("uploads")
	base := time.Now().Add(-5 * time.Minute)
	create := func(key string, at time.Time) string {
		e.now.Store(&at)
		defer e.now.Store(nil)
		out, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UploadId)
	}
	// Eight uploads of one key, each initiated a second before the one
	// made before it: listing order is the reverse of creation order.
	var dup []string
	for i := range 8 {
		dup = append(dup, create("dup", base.Add(time.Duration(20-i)*time.Second)))
	}
	slices.Reverse(dup)
	ids := map[string]string{}
	for i, k := range []string{"a/1", "a/2", "b", "c/d/e", "x y+z", "zz", "a-b"} {
		ids[k] = create(k, base.Add(time.Duration(i)*time.Second))
	}
	all := []string{"u a-b " + ids["a-b"], "u a/1 " + ids["a/1"], "u a/2 " + ids["a/2"], "u b " + ids["b"], "u c/d/e " + ids["c/d/e"]}
	for _, id := range dup {
		all = append(all, "u dup "+id)
	}
	all = append(all, "u x y+z "+ids["x y+z"], "u zz "+ids["zz"])

	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		name      string
		params    url.Values
		want      []string
		truncated bool
		next      string // NextKeyMarker and NextUploadIdMarker, " "-joined
	}{
		{"all", q(), all, false, "zz " + ids["zz"]},
		{"prefix", q("prefix", "a/"), all[1:3], false, "a/2 " + ids["a/2"]},
		{"delimiter", q("delimiter", "/"), append([]string{"u a-b " + ids["a-b"], "p a/", "u b " + ids["b"], "p c/"}, all[5:]...), false, "zz " + ids["zz"]},
		{"prefix-delimiter", q("prefix", "c/", "delimiter", "/"), []string{"p c/d/"}, false, "c/d/ "},
		{"key-marker", q("key-marker", "b"), all[4:], false, "zz " + ids["zz"]},
		{"key-marker-between-keys", q("key-marker", "c"), all[4:], false, "zz " + ids["zz"]},
		{"key-marker-and-upload-id-marker", q("key-marker", "dup", "upload-id-marker", dup[2]), all[8:], false, "zz " + ids["zz"]},
		{"upload-id-marker-of-last-upload", q("key-marker", "dup", "upload-id-marker", dup[7]), all[13:], false, "zz " + ids["zz"]},
		{"upload-id-marker-alone-ignored", q("upload-id-marker", dup[2]), all, false, "zz " + ids["zz"]},
		{"key-marker-common-prefix", q("key-marker", "a/", "delimiter", "/"), append([]string{"u b " + ids["b"], "p c/"}, all[5:]...), false, "zz " + ids["zz"]},
		{"max-uploads", q("max-uploads", "2"), all[:2], true, "a/1 " + ids["a/1"]},
		{"max-uploads-counts-prefixes", q("max-uploads", "2", "delimiter", "/"), []string{"u a-b " + ids["a-b"], "p a/"}, true, "a/ "},
		{"max-uploads-within-key", q("max-uploads", "3", "key-marker", "c/d/e"), all[5:8], true, "dup " + dup[2]},
		{"max-uploads-capped", q("max-uploads", "5000"), all, false, "zz " + ids["zz"]},
		{"max-uploads-0", q("max-uploads", "0"), nil, false, " "},
		{"prefix-without-match", q("prefix", "nothing"), nil, false, " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, res := listUploadsRaw(t, e, b, tc.params)
			if code != 200 {
				t.Fatalf("%d %s", code, body)
			}
			if got := res.entries(); !slices.Equal(got, tc.want) {
				t.Errorf("entries\n got %q\nwant %q", got, tc.want)
			}
			if res.IsTruncated != tc.truncated {
				t.Errorf("IsTruncated %v", res.IsTruncated)
			}
			if got := res.NextKeyMarker + " " + res.NextUploadIDMarker; got != tc.next {
				t.Errorf("next markers %q, want %q", got, tc.next)
			}
			if res.KeyMarker != tc.params.Get("key-marker") || res.Prefix != tc.params.Get("prefix") || res.Delimiter != tc.params.Get("delimiter") ||
				res.UploadIDMarker != tc.params.Get("upload-id-marker") {
				t.Errorf("echoed parameters %+v", res)
			}
			wantMax := 1000
			if m := tc.params.Get("max-uploads"); m != "" {
				wantMax, _ = strconv.Atoi(m)
				wantMax = min(wantMax, 1000)
			}
			if res.MaxUploads != wantMax {
				t.Errorf("MaxUploads %d, want %d", res.MaxUploads, wantMax)
			}
		})
	}

	// Paging with the next markers returns every entry once, in order.
	for _, delim := range []string{"", "/"} {
		full := all
		if delim != "" {
			_, _, res := listUploadsRaw(t, e, b, q("delimiter", delim))
			full = res.entries()
		}
		for _, size := range []int{1, 2, 3, 7} {
			var got []string
			params := q("max-uploads", strconv.Itoa(size), "delimiter", delim)
			for page := 0; ; page++ {
				if page > len(all) {
					t.Fatalf("delimiter %q, page size %d: no end", delim, size)
				}
				code, body, res := listUploadsRaw(t, e, b, params)
				if code != 200 {
					t.Fatalf("%d %s", code, body)
				}
				if n := len(res.Uploads) + len(res.CommonPrefixes); n > size || n < size && res.IsTruncated {
					t.Errorf("delimiter %q, page size %d: page of %d, truncated %v", delim, size, n, res.IsTruncated)
				}
				got = append(got, res.entries()...)
				if !res.IsTruncated {
					break
				}
				params.Set("key-marker", res.NextKeyMarker)
				params.Set("upload-id-marker", res.NextUploadIDMarker)
			}
			if !slices.Equal(got, full) {
				t.Errorf("delimiter %q, page size %d:\n got %q\nwant %q", delim, size, got, full)
			}
		}
	}

	// The AWS SDK reads the same listing.
	out, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(b), KeyMarker: aws.String("dup"), UploadIdMarker: aws.String(dup[5]), MaxUploads: aws.Int32(2)})
	if err != nil || len(out.Uploads) != 2 || aws.ToString(out.Uploads[0].UploadId) != dup[6] || aws.ToString(out.Uploads[1].UploadId) != dup[7] ||
		!aws.ToBool(out.IsTruncated) || aws.ToString(out.NextUploadIdMarker) != dup[7] {
		t.Errorf("aws sdk: %v %+v", err, out)
	}

	// encoding-type=url.
	code, body, res := listUploadsRaw(t, e, b, q("encoding-type", "url", "prefix", "x y", "key-marker", "x y", "delimiter", "+"))
	if code != 200 || res.EncodingType != "url" || res.Prefix != "x%20y" || res.KeyMarker != "x%20y" || res.Delimiter != "%2B" ||
		len(res.CommonPrefixes) != 1 || res.CommonPrefixes[0].Prefix != "x%20y%2B" || res.NextKeyMarker != "x%20y%2B" {
		t.Errorf("encoding-type=url with delimiter: %d %s", code, body)
	}
	code, body, res = listUploadsRaw(t, e, b, q("encoding-type", "url", "prefix", "x"))
	if code != 200 || len(res.Uploads) != 1 || res.Uploads[0].Key != "x%20y%2Bz" || res.NextKeyMarker != "x%20y%2Bz" {
		t.Errorf("encoding-type=url: %d %s", code, body)
	}
	if _, body, res := listUploadsRaw(t, e, b, q("prefix", "x")); res.EncodingType != "" || len(res.Uploads) != 1 || res.Uploads[0].Key != "x y+z" {
		t.Errorf("without encoding-type: %s", body)
	}

	// Bad parameters.
	for _, tc := range []struct {
		name, bucket string
		params       url.Values
		status       int
		code         string
	}{
		{"unknown-encoding", b, q("encoding-type", "base64"), 400, "InvalidArgument"},
		{"negative-max-uploads", b, q("max-uploads", "-1"), 400, "InvalidArgument"},
		{"non-numeric-max-uploads", b, q("max-uploads", "ten"), 400, "InvalidArgument"},
		{"no-such-bucket", "no-such-bucket", q(), 404, "NoSuchBucket"},
	} {
		if code, body, _ := listUploadsRaw(t, e, tc.bucket, tc.params); code != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") {
			t.Errorf("%s: %d %s", tc.name, code, body)
		}
	}
	// Listing changed nothing.
	if _, _, res := listUploadsRaw(t, e, b, q()); !slices.Equal(res.entries(), all) {
		t.Errorf("uploads after listing: %q", res.entries())
	}
}
