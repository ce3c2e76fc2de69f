package s3lite

import (
	"encoding/hex"
	"net/http"
)

// checkExpectedOwner enforces x-amz-expected-bucket-owner (and, for copies,
// x-amz-source-expected-bucket-owner): when set, it must name the owner of
// the bucket, else S3 answers 403 AccessDenied. Every bucket belongs to the
// server's one account, whose canonical IDs are the hex of its access keys
// (see owner), so any of those matches.
func (s *Server) checkExpectedOwner(r *http.Request) error {
	for _, h := range []string{"x-amz-expected-bucket-owner", "x-amz-source-expected-bucket-owner"} {
		want := r.Header.Get(h)
		if want == "" {
			continue
		}
		b, err := hex.DecodeString(want)
		if err != nil {
			return errAccessDenied
		}
		if _, ok := s.cfg.Credentials[string(b)]; !ok {
			return errAccessDenied
		}
	}
	return nil
}
