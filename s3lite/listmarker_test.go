package s3lite

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// markerKeys are the keys of the marker tests, in S3's (byte) order: '/'
// sorts before '0', a key ("b/") equals a common prefix, and common
// prefixes nest.
var markerKeys = []string{"a/1", "a/2/x", "a/2/y", "a/3", "a0", "b", "b/", "b/c/d", "c"}

// listing is one ListObjects answer: keys as "k:<key>", common prefixes as
// "p:<prefix>", merged in key order, and how to go on.
type listing struct {
	entries   []string
	truncated bool
	next      string // v1: NextMarker; v2: NextContinuationToken
	keyCount  int32  // v2 only
}

func mergeEntries(contents []types.Object, cps []types.CommonPrefix) []string {
	var out []string
	for _, c := range contents {
		out = append(out, "k:"+aws.ToString(c.Key))
	}
	for _, c := range cps {
		out = append(out, "p:"+aws.ToString(c.Prefix))
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(a[2:], b[2:]) })
	return out
}

// listV1 lists with ListObjects (v1) from marker.
func listV1(t *testing.T, e *env, b, prefix, delim, marker string, maxKeys int32) listing {
	t.Helper()
	out, err := e.s3.ListObjects(context.Background(), &s3.ListObjectsInput{Bucket: aws.String(b), Prefix: aws.String(prefix),
		Delimiter: aws.String(delim), Marker: aws.String(marker), MaxKeys: aws.Int32(maxKeys)})
	if err != nil {
		t.Fatalf("ListObjects prefix %q delimiter %q marker %q: %v", prefix, delim, marker, err)
	}
	if aws.ToString(out.Marker) != marker {
		t.Errorf("ListObjects marker %q echoed as %q", marker, aws.ToString(out.Marker))
	}
	return listing{entries: mergeEntries(out.Contents, out.CommonPrefixes), truncated: aws.ToBool(out.IsTruncated), next: aws.ToString(out.NextMarker)}
}

// listV2 lists with ListObjectsV2 from start-after or, if token is set, a
// continuation token.
func listV2(t *testing.T, e *env, b, prefix, delim, startAfter, token string, maxKeys int32) listing {
	t.Helper()
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String(prefix), Delimiter: aws.String(delim), MaxKeys: aws.Int32(maxKeys)}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	}
	out, err := e.s3.ListObjectsV2(context.Background(), in)
	if err != nil {
		t.Fatalf("ListObjectsV2 prefix %q delimiter %q start-after %q: %v", prefix, delim, startAfter, err)
	}
	l := listing{entries: mergeEntries(out.Contents, out.CommonPrefixes), truncated: aws.ToBool(out.IsTruncated),
		next: aws.ToString(out.NextContinuationToken), keyCount: aws.ToInt32(out.KeyCount)}
	if int(l.keyCount) != len(l.entries) {
		t.Errorf("ListObjectsV2: KeyCount %d for %d entries", l.keyCount, len(l.entries))
	}
	return l
}

// TestListMarker checks marker (v1) and start-after (v2) against S3's
// documented semantics: the listing holds the keys lexicographically after
// the marker, with keys that contain the delimiter after the prefix rolled
// up into common prefixes; a marker that is itself a common prefix of the
// listing (a NextMarker resuming after one) skips that prefix's keys, and
// any other marker, the listing's own prefix included, does not.
func TestListMarker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bucket("markers")
	for _, k := range markerKeys {
		if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: bytes.NewReader([]byte(k))}); err != nil {
			t.Fatal(err)
		}
	}
	all := "k:a/1 k:a/2/x k:a/2/y k:a/3 k:a0 k:b k:b/ k:b/c/d k:c"
	cases := []struct {
		prefix, delim, marker string
		want                  string
	}{
		// The marker equals the prefix: the whole prefix is listed.
		{"a/", "/", "a/", "k:a/1 p:a/2/ k:a/3"},
		{"a/", "/", "", "k:a/1 p:a/2/ k:a/3"},
		{"a/", "/", "0", "k:a/1 p:a/2/ k:a/3"},
		{"a/", "/", "a", "k:a/1 p:a/2/ k:a/3"},
		{"a/", "/", "a/1", "p:a/2/ k:a/3"},
		// A marker before a common prefix's keys, or inside them, leaves
		// keys of it after the marker: the prefix is listed.
		{"a/", "/", "a/2", "p:a/2/ k:a/3"},
		{"a/", "/", "a/2/x", "p:a/2/ k:a/3"},
		// The marker is that common prefix: its keys are skipped.
		{"a/", "/", "a/2/", "k:a/3"},
		{"a/", "/", "a/3", ""},
		{"a/", "/", "a0", ""},
		{"a/", "/", "zzz", ""},
		{"a/", "", "a/", "k:a/1 k:a/2/x k:a/2/y k:a/3"},
		{"a/", "", "a/2/", "k:a/2/x k:a/2/y k:a/3"},
		{"", "/", "", "p:a/ k:a0 k:b p:b/ k:c"},
		{"", "/", "a", "p:a/ k:a0 k:b p:b/ k:c"},
		{"", "/", "a/", "k:a0 k:b p:b/ k:c"},
		{"", "/", "a/1", "p:a/ k:a0 k:b p:b/ k:c"},
		{"", "/", "b", "p:b/ k:c"},
		{"", "/", "b/", "k:c"},
		{"", "/", "b/c/", "p:b/ k:c"},
		{"", "", "a/", all},
		{"", "", "b/", "k:b/c/d k:c"},
		// The key "b/" is not listed after itself; its prefix "b/" is
		// no common prefix of a listing under prefix "b/".
		{"b/", "/", "", "k:b/ p:b/c/"},
		{"b/", "/", "b/", "p:b/c/"},
		{"b/", "/", "b/c/", ""},
		{"b", "/", "b", "p:b/"},
		{"b", "/", "b/", ""},
		// A delimiter of several bytes.
		{"", "/2/", "", "k:a/1 p:a/2/ k:a/3 k:a0 k:b k:b/ k:b/c/d k:c"},
		{"", "/2/", "a/2/", "k:a/3 k:a0 k:b k:b/ k:b/c/d k:c"},
		{"", "/2/", "a/", "k:a/1 p:a/2/ k:a/3 k:a0 k:b k:b/ k:b/c/d k:c"},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("prefix=%q,delimiter=%q,marker=%q", tc.prefix, tc.delim, tc.marker)
		v1 := listV1(t, e, b, tc.prefix, tc.delim, tc.marker, 1000)
		if got := strings.Join(v1.entries, " "); got != tc.want || v1.truncated {
			t.Errorf("v1 %s: %q (truncated %v), want %q", name, got, v1.truncated, tc.want)
		}
		v2 := listV2(t, e, b, tc.prefix, tc.delim, tc.marker, "", 1000)
		if got := strings.Join(v2.entries, " "); got != tc.want || v2.truncated {
			t.Errorf("v2 %s: %q (truncated %v), want %q", name, got, v2.truncated, tc.want)
		}
	}
}

// TestListMarkerPaging pages through listings with a delimiter at page
// sizes 1 to 4, by v1 marker/NextMarker and by v2 continuation token, from
// the start and from a start-after/marker: every entry of the one-page
// listing arrives exactly once, in order, every page but the last is full
// and says it is truncated, and NextMarker is the page's last entry.
func TestListMarkerPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bucket("markerpages")
	for _, k := range markerKeys {
		if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: bytes.NewReader([]byte(k))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ prefix, delim, start string }{
		{"", "/", ""}, {"a/", "/", ""}, {"a/", "/", "a/"}, {"", "/", "a/"}, {"", "/", "a"},
		{"", "/", "a/2/x"}, {"b", "/", "b"}, {"b/", "/", ""}, {"", "/2/", ""}, {"", "", ""}, {"a/", "", "a/"},
	} {
		whole := listV1(t, e, b, tc.prefix, tc.delim, tc.start, 1000).entries
		if len(whole) == 0 {
			t.Fatalf("prefix %q delimiter %q start %q: empty listing", tc.prefix, tc.delim, tc.start)
		}
		for size := int32(1); size <= 4; size++ {
			name := fmt.Sprintf("prefix=%q,delimiter=%q,start=%q,size=%d", tc.prefix, tc.delim, tc.start, size)
			// v1: NextMarker with a delimiter; without one, clients
			// go on from the last key (S3 sends no NextMarker then).
			var got []string
			marker := tc.start
			for page := 0; ; page++ {
				if page > len(whole) {
					t.Fatalf("v1 %s: no end after %d pages", name, page)
				}
				l := listV1(t, e, b, tc.prefix, tc.delim, marker, size)
				got = append(got, l.entries...)
				if !l.truncated {
					break
				}
				if len(l.entries) != int(size) {
					t.Errorf("v1 %s: truncated page of %d", name, len(l.entries))
				}
				last := l.entries[len(l.entries)-1][2:]
				if tc.delim != "" && l.next != last {
					t.Errorf("v1 %s: NextMarker %q, last entry %q", name, l.next, last)
				}
				if tc.delim == "" && l.next != "" {
					t.Errorf("v1 %s: NextMarker %q without a delimiter", name, l.next)
				}
				marker = last
			}
			if !slices.Equal(got, whole) {
				t.Errorf("v1 %s: paged %q, want %q", name, got, whole)
			}
			got = got[:0]
			token := ""
			for page := 0; ; page++ {
				if page > len(whole) {
					t.Fatalf("v2 %s: no end after %d pages", name, page)
				}
				l := listV2(t, e, b, tc.prefix, tc.delim, tc.start, token, size)
				got = append(got, l.entries...)
				if !l.truncated {
					break
				}
				if len(l.entries) != int(size) || l.next == "" {
					t.Errorf("v2 %s: truncated page of %d, token %q", name, len(l.entries), l.next)
				}
				token = l.next
			}
			if !slices.Equal(got, whole) {
				t.Errorf("v2 %s: paged %q, want %q", name, got, whole)
			}
		}
	}
}
