package s3lite

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=65535-65537", "bytes=-1", "bytes=5-", "bytes=a-b", "bytes=1-2,3-4", "", "bytes=-0", "bytes=9223372036854775807-"} {
		f.Add(s, int64(200000))
	}
	f.Fuzz(func(t *testing.T, hdr string, size int64) {
		if size < 0 {
			size = -size
			if size < 0 {
				return
			}
		}
		off, n, partial, err := parseRange(hdr, size)
		if err != nil {
			return
		}
		if off < 0 || n < 0 || off+n > size || (!partial && (off != 0 || n != size)) {
			t.Fatalf("parseRange(%q, %d) = %d, %d, %v", hdr, size, off, n, partial)
		}
		if partial && n == 0 {
			t.Fatalf("empty partial range for %q", hdr)
		}
	})
}

func FuzzCompleteMultipartUpload(f *testing.F) {
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"00112233445566778899aabbccddeeff"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>ffeeddccbbaa99887766554433221100</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>x</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CompleteMultipartUpload>`))
	stored := []partMeta{
		{Number: 1, File: "aa/aa000000000000000000000000000000", Size: minPartSize, ETag: "00112233445566778899aabbccddeeff"},
		{Number: 2, File: "bb/bb000000000000000000000000000000", Size: 10, ETag: "ffeeddccbbaa99887766554433221100"},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req completeMultipartUpload
		if err := readXML(bytes.NewReader(body), &req); err != nil {
			return
		}
		m, err := assembleParts(&uploadMeta{}, stored, req.Parts)
		if err != nil {
			return
		}
		var size int64
		for _, p := range m.Parts {
			size += p.Size
		}
		if size != m.Size || !strings.HasSuffix(m.ETag, "-"+itoa(len(req.Parts))) {
			t.Fatalf("inconsistent object %+v", m)
		}
	})
}

func FuzzDeleteObjects(f *testing.F) {
	f.Add([]byte(`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b/c</Key><VersionId>null</VersionId></Object></Delete>`))
	f.Add([]byte(`<Delete><Object><Key>&lt;&amp;</Key></Object></Delete>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req deleteRequest
		if err := readXML(bytes.NewReader(body), &req); err != nil {
			return
		}
		for _, o := range req.Objects {
			_ = checkObjectKey(o.Key)
		}
	})
}

func FuzzBucketEncryption(f *testing.F) {
	f.Add([]byte(`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`))
	f.Add([]byte(`<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var cfg sseConfiguration
		if err := readXML(bytes.NewReader(body), &cfg); err != nil {
			return
		}
		sse, err := parseBucketSSE(&cfg)
		if err != nil {
			return
		}
		switch {
		case sse.Algorithm == "AES256" && sse.KeyID == "":
		case sse.Algorithm == "aws:kms" && sse.KeyID != "" && !strings.HasPrefix(sse.KeyID, arnPrefix):
		default:
			t.Fatalf("accepted %+v", sse)
		}
	})
}

func FuzzConditionalHeaders(f *testing.F) {
	f.Add(`"abc"`, "*", "Mon, 02 Jan 2006 15:04:05 GMT")
	f.Fuzz(func(t *testing.T, match, noneMatch, since string) {
		h := map[string][]string{"If-Match": {match}, "If-None-Match": {noneMatch}, "If-Modified-Since": {since}}
		_ = checkPreconditions(h, "abc", time.Unix(0, 0))
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
