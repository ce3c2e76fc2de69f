package s3lite

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	bolt "go.etcd.io/bbolt"
)

// lockedBuffer is a log sink tests read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// withLog sends the server's log to buf.
func withLog(buf *lockedBuffer) envOption {
	return func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(buf, nil)) }
}

// editDB closes the server, runs edit on meta.db and opens the server again: an attacker
// (or a disk) changing the metadata while the server is down.
func editDB(t *testing.T, e *env, edit func(tx *bolt.Tx) error) {
	t.Helper()
	e.close()
	db, err := bolt.Open(filepath.Join(e.cfg.Dir, "meta.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(edit)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	e.open()
}

// bodyPath returns the path of the first body file of bucket/key.
func bodyPath(t *testing.T, e *env, bucket, key string) string {
	t.Helper()
	m, err := e.srv.st.getObject(context.Background(), bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(e.cfg.Dir, "data", filepath.FromSlash(m.Parts[0].File))
}

// getCode reads bucket/key whole (with the aws client, which does not retry) and returns
// its bytes and S3 error code.
func getCode(e *env, bucket, key string) ([]byte, string) {
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, s3Code(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, s3Code(err)
	}
	return b, ""
}

// headStatusOf answers the HTTP status of a HEAD of bucket/key.
func headStatusOf(e *env, bucket, key string) int {
	if _, err := e.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		_, status := apiStatus(err)
		return status
	}
	return 200
}

// TestDamagedRecordsStayLocal damages one object's record (not JSON), removes and cuts
// body files and garbles a bucket's record: Open succeeds, every damaged object answers
// 500 XMinioObjectTampered on GET and HEAD and is named once in the log, listings leave
// out the record that does not decode (as MinIO does), the damaged object can be deleted,
// the damaged bucket lists, serves its objects and is repaired by PutBucketEncryption, and
// every other object reads back intact.
func TestDamagedRecordsStayLocal(t *testing.T) {
	var logBuf lockedBuffer
	e := newEnv(t, withLog(&logBuf))
	ctx := context.Background()
	b := e.bucket("dmg")
	other := e.bucket("dmg-bucket")
	data := map[string][]byte{}
	for _, k := range []string{"bad-json", "missing-body", "short-body", "ok-1", "ok-2"} {
		data[k] = randBytes(3000)
		if _, err := e.mc.PutObject(ctx, b, k, bytes.NewReader(data[k]), int64(len(data[k])), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	inOther := randBytes(100)
	if _, err := e.mc.PutObject(ctx, other, "x", bytes.NewReader(inOther), 100, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(bodyPath(t, e, b, "missing-body")); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(bodyPath(t, e, b, "short-body"), 100); err != nil {
		t.Fatal(err)
	}
	badFile := bodyPath(t, e, b, "bad-json")
	editDB(t, e, func(tx *bolt.Tx) error {
		ob := tx.Bucket(rootBucket).Bucket([]byte(b)).Bucket(objectsBucket)
		v := slices.Clone(ob.Get([]byte("bad-json")))
		v[0] = 'x' // not JSON any more; the file name is still in it
		if err := ob.Put([]byte("bad-json"), v); err != nil {
			return err
		}
		return tx.Bucket(rootBucket).Bucket([]byte(other)).Put(infoKey, []byte("{garbage"))
	})
	if _, err := os.Stat(badFile); err != nil {
		t.Errorf("Open swept the body of the record that does not decode: %v", err)
	}
	for _, k := range []string{"bad-json", "missing-body", "short-body"} {
		for range 3 {
			if got, code := getCode(e, b, k); code != "XMinioObjectTampered" {
				t.Errorf("GET %s: %q (%d bytes), want XMinioObjectTampered", k, code, len(got))
			}
			if st := headStatusOf(e, b, k); st != 500 {
				t.Errorf("HEAD %s: %d, want 500", k, st)
			}
		}
		if n := strings.Count(logBuf.String(), "key="+k+" "); n != 1 {
			t.Errorf("%s is named %d times in the log, want once:\n%s", k, n, logBuf.String())
		}
	}
	var listed []string
	for o := range e.mc.ListObjects(ctx, b, minio.ListObjectsOptions{}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		listed = append(listed, o.Key)
	}
	if want := []string{"missing-body", "ok-1", "ok-2", "short-body"}; !slices.Equal(listed, want) {
		t.Errorf("listed %v, want %v", listed, want)
	}
	for _, k := range []string{"ok-1", "ok-2"} {
		if got, code := getCode(e, b, k); code != "" || !bytes.Equal(got, data[k]) {
			t.Errorf("GET %s: %q, intact=%v", k, code, bytes.Equal(got, data[k]))
		}
	}
	// The damaged bucket: listed, its objects read, uploads refused until repaired.
	bs, err := e.mc.ListBuckets(ctx)
	if err != nil || len(bs) != 2 {
		t.Fatalf("ListBuckets: %v %v", bs, err)
	}
	if got, code := getCode(e, other, "x"); code != "" || !bytes.Equal(got, inOther) {
		t.Errorf("GET in the damaged bucket: %q", code)
	}
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(other), Key: aws.String("y"), Body: bytes.NewReader(inOther)}); s3Code(err) != "InternalError" {
		t.Errorf("PUT into the damaged bucket: %v, want InternalError", err)
	}
	if err := e.mc.RemoveBucketEncryption(ctx, other); err != nil {
		t.Fatalf("DeleteBucketEncryption on the damaged bucket: %v", err)
	}
	if _, err := e.mc.PutObject(ctx, other, "y", bytes.NewReader(inOther), 100, minio.PutObjectOptions{}); err != nil {
		t.Errorf("PUT after the repair: %v", err)
	}
	// Deleting the damaged objects works; the keys are gone.
	for _, k := range []string{"bad-json", "missing-body", "short-body"} {
		if err := e.mc.RemoveObject(ctx, b, k, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("DELETE %s: %v", k, err)
		}
		if _, code := getCode(e, b, k); code != "NoSuchKey" {
			t.Errorf("GET %s after DELETE: %q", k, code)
		}
	}
	// The next Open sweeps the body the deleted damaged record referred to.
	e.restart()
	if _, err := os.Stat(badFile); !os.IsNotExist(err) {
		t.Errorf("body of the deleted damaged record: %v, want removed", err)
	}
}
