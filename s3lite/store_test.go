package s3lite

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestStoreHonoursContext: a request that has gone away changes nothing.
func TestStoreHonoursContext(t *testing.T) {
	t.Parallel()
	st, err := openStore(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	st.keys = &keyring{db: st.db, warn: func(string, ...any) {}}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.createBucket(done, "gone", time.Now()); !errors.Is(err, context.Canceled) {
		t.Fatalf("createBucket with a done context = %v", err)
	}
	if _, err := st.getBucket(context.Background(), "gone"); !errors.Is(err, errNoSuchBucket) {
		t.Errorf("the bucket exists: %v", err)
	}
	if err := st.createBucket(context.Background(), "b", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.putObject(done, "b", &objectMeta{Key: "k"}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("putObject with a done context = %v", err)
	}
	if _, err := st.listBuckets(done); !errors.Is(err, context.Canceled) {
		t.Errorf("listBuckets with a done context = %v", err)
	}
	if _, err := openStore(done, t.TempDir(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("openStore with a done context = %v", err)
	}
}
