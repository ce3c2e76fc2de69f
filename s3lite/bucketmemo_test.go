package s3lite

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestBucketMemo: within one request a bucket's record is read once and kept; another
// bucket, an absent one and a request without a memo read the store.
func TestBucketMemo(t *testing.T) {
	e := newEnv(t)
	b, other := e.bucket("memo-a"), e.bucket("memo-b")
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	ctx := withBucketMemo(req).Context()
	setState := func(name, state string) {
		t.Helper()
		if err := e.srv.st.updateBucket(context.Background(), name, func(bi *bucketInfo) error {
			bi.Versioning = state
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if bi, err := e.srv.requestBucket(ctx, b); err != nil || bi.Versioning != "" {
		t.Fatalf("first read: %+v %v", bi, err)
	}
	setState(b, versioningEnabled)
	if bi, _ := e.srv.requestBucket(ctx, b); bi.Versioning != "" {
		t.Errorf("second read in the same request: versioning %q, want the record as first read", bi.Versioning)
	}
	if bi, _ := e.srv.requestBucket(context.Background(), b); bi.Versioning != versioningEnabled {
		t.Errorf("read without a memo: versioning %q, want %q", bi.Versioning, versioningEnabled)
	}
	setState(other, versioningEnabled)
	if bi, _ := e.srv.requestBucket(ctx, other); bi.Versioning != versioningEnabled {
		t.Errorf("another bucket in the same request: versioning %q, want it read from the store", bi.Versioning)
	}
	if _, err := e.srv.requestBucket(ctx, "memo-none"); !errors.Is(err, errNoSuchBucket) {
		t.Errorf("absent bucket: %v, want errNoSuchBucket", err)
	}
	if _, err := e.srv.requestBucket(ctx, "memo-none"); !errors.Is(err, errNoSuchBucket) {
		t.Errorf("absent bucket read again: %v, want errNoSuchBucket (errors are not kept)", err)
	}
}
