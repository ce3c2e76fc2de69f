package s3lite

import (
	"context"
	"net/http"
)

// A request reads its bucket's record several times before and while it runs: the CORS
// headers, authorization, the write's versioning state, the x-amz-expiration header. The
// bucket memo makes those one bolt read and one MAC check per request. It holds the
// record as read at its first use; a handler that changes the bucket record reads the
// store itself (and its change is not seen by the memo's later readers in that request).

// bucketMemoKey is the context key of a request's *bucketMemo.
type bucketMemoKey struct{}

// bucketMemo is the record of one bucket, read once for one request.
type bucketMemo struct {
	name string
	bi   bucketInfo
	ok   bool
}

// withBucketMemo returns r with an empty bucket memo.
func withBucketMemo(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), bucketMemoKey{}, &bucketMemo{}))
}

// requestBucket returns the record of bucket name as store.getBucket does, from the
// request's memo in ctx when it holds name (only records read without error are kept).
func (s *Server) requestBucket(ctx context.Context, name string) (bucketInfo, error) {
	m, _ := ctx.Value(bucketMemoKey{}).(*bucketMemo)
	if m != nil && m.ok && m.name == name {
		return m.bi, nil
	}
	bi, err := s.st.getBucket(ctx, name)
	if m != nil && err == nil {
		*m = bucketMemo{name: name, bi: bi, ok: true}
	}
	return bi, err
}
