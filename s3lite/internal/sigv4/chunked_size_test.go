package sigv4

import (
	"errors"
	"testing"
)

// aws-sdk-go-v2 sends a body of known length as one aws-chunked chunk, so chunk sizes far
// above 16 MiB are ordinary; only sizes over S3's 5 GiB single-PUT limit are refused.
func TestParseChunkSizeBounds(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int64
		bad  bool
	}{
		{line: "10000", want: 64 << 10},
		{line: "1100000", want: 17 << 20},
		{line: "140000000", want: 5 << 30},
		{line: "140000001", bad: true},
		{line: "ffffffffff", bad: true},
		{line: "", bad: true},
		{line: "-1", bad: true},
	} {
		n, _, err := parseChunkSize([]byte(tc.line))
		if tc.bad {
			if !errors.Is(err, ErrMalformedChunk) {
				t.Errorf("%q: err = %v, want ErrMalformedChunk", tc.line, err)
			}
			continue
		}
		if err != nil || n != tc.want {
			t.Errorf("%q = %d, %v; want %d", tc.line, n, err, tc.want)
		}
	}
}
