package s3lite

import (
	"net/http"
	"strings"
)

// completeChecksumHeader splits the x-amz-checksum-<algorithm> header of a
// CompleteMultipartUpload off the request. On that operation it is not a
// checksum of the XML body but the checksum the client expects of the whole
// object ("<base64>-<parts>" for a COMPOSITE checksum; SDKs also send it
// without the suffix). It returns the headers left for body verification,
// the algorithm header's name (canonical) and value; "" if none was sent.
func completeChecksumHeader(h http.Header) (rest http.Header, name, value string) {
	rest = h
	cloned := false
	for k, vs := range h {
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, "x-amz-checksum-") || lk == "x-amz-checksum-algorithm" || lk == "x-amz-checksum-type" || lk == "x-amz-checksum-mode" {
			continue
		}
		if !cloned {
			rest, cloned = h.Clone(), true
		}
		rest.Del(k)
		if len(vs) > 0 {
			name, value = lk, vs[0]
		}
	}
	if name != "" && h.Get("X-Amz-Trailer") == "" {
		rest.Del("X-Amz-Sdk-Checksum-Algorithm")
	}
	return rest, name, value
}

// checkCompleteChecksum compares the object checksum a client expects
// (header name, value, from completeChecksumHeader) with the one of the
// assembled object m: a mismatch is 400 BadDigest. An upload created
// without a checksum algorithm has no object checksum to compare with.
func checkCompleteChecksum(m *objectMeta, name, value string) error {
	if name == "" || m.ChecksumAlgo == "" {
		return nil
	}
	if name != "x-amz-checksum-"+strings.ToLower(m.ChecksumAlgo) {
		return withMsg(errBadDigest, "The "+name+" you specified does not match the upload's checksum algorithm "+m.ChecksumAlgo+".")
	}
	sum, _, composite := strings.Cut(m.Checksum, "-")
	if value == m.Checksum || composite && value == sum {
		return nil
	}
	return withMsg(errBadDigest, "The "+name+" you specified did not match the calculated checksum.")
}
