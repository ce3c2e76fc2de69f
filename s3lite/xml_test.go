package s3lite

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/kmsbox/kmsbox/s3lite/internal/checksum"
)

// TestChecksumElements pins the XML element each checksum algorithm fills in
// the three responses that carry one, and its place before ChecksumType.
func TestChecksumElements(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		algo, elem string
	}{
		{"CRC32", "ChecksumCRC32"},
		{"CRC32C", "ChecksumCRC32C"},
		{"CRC64NVME", "ChecksumCRC64NVME"},
		{"SHA1", "ChecksumSHA1"},
		{"SHA256", "ChecksumSHA256"},
		{"", ""},
		{"crc32", ""}, // stored names are canonical; anything else sets nothing
		{"MD5", ""},
	} {
		t.Run("algo="+tc.algo, func(t *testing.T) {
			c := completeMultipartUploadResult{ETag: `"e"`, ChecksumType: "COMPOSITE"}
			c.setChecksum(tc.algo, "v==")
			p := partItem{PartNumber: 1}
			p.setChecksum(tc.algo, "v==")
			o := copyObjectResult{ETag: `"e"`}
			o.setChecksum(tc.algo, "v==")
			for _, v := range []any{c, p, o} {
				b, err := xml.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				got := string(b)
				if n := strings.Count(got, "<Checksum") - strings.Count(got, "<ChecksumType>"); tc.elem == "" && n != 0 || tc.elem != "" && n != 1 {
					t.Errorf("%d checksum elements in %s", n, got)
				}
				if tc.elem != "" && !strings.Contains(got, "<"+tc.elem+">v==</"+tc.elem+">") {
					t.Errorf("no <%s> in %s", tc.elem, got)
				}
			}
			b, _ := xml.Marshal(c)
			if tc.elem != "" && !strings.Contains(string(b), "</"+tc.elem+"><ChecksumType>COMPOSITE</ChecksumType>") {
				t.Errorf("ChecksumType not right after <%s>: %s", tc.elem, b)
			}
		})
	}
}

// TestCompletePartChecksum checks that the checksum a client sends with each
// <Part> of CompleteMultipartUpload is found for every algorithm.
func TestCompletePartChecksum(t *testing.T) {
	t.Parallel()
	for _, a := range []checksum.Algorithm{checksum.CRC32, checksum.CRC32C, checksum.CRC64NVME, checksum.SHA1, checksum.SHA256} {
		body := "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag><Checksum" + a.String() + ">v==</Checksum" + a.String() + "></Part></CompleteMultipartUpload>"
		var req completeMultipartUpload
		if err := readXML(strings.NewReader(body), &req); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if len(req.Parts) != 1 {
			t.Fatalf("%s: %d parts", a, len(req.Parts))
		}
		for _, other := range []checksum.Algorithm{checksum.None, checksum.CRC32, checksum.CRC32C, checksum.CRC64NVME, checksum.SHA1, checksum.SHA256} {
			want := ""
			if other == a {
				want = "v=="
			}
			if got := partChecksumOf(req.Parts[0], other); got != want {
				t.Errorf("sent %s, partChecksumOf(%s) = %q, want %q", a, other, got, want)
			}
		}
	}
}
