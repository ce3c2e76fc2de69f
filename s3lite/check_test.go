package s3lite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	bolt "go.etcd.io/bbolt"
)

// TestCheck damages a closed store (a flipped byte in a plaintext body, a record that is
// not JSON, a record whose MAC fails, an orphan body file, a stale temp file, an upload
// two days old) and runs Check: every problem is reported; repair moves the two records
// aside (keeping their bodies), removes the orphan, the temp file and the upload, and
// leaves the body damage reported; the store then opens and serves the rest.
func TestCheck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("check")
	body := randBytes(300 << 10)
	for _, k := range []string{"good", "flipped", "not-json", "bad-mac"} {
		putPlain(t, e, b, k, body)
	}
	if _, err := e.s3.PutObject(ctx, withSSE(&s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("sse"), Body: bytes.NewReader(body)}, "s3", "")); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-48 * time.Hour)
	if err := e.srv.st.createUpload(ctx, b, &uploadMeta{ID: "stale-upload", Key: "u", Initiated: past}); err != nil {
		t.Fatal(err)
	}
	flipAt(t, bodyPath(t, e, b, "flipped"), 1000)
	notJSONFile := bodyPath(t, e, b, "not-json")
	editDB(t, e, func(tx *bolt.Tx) error {
		ob := tx.Bucket(rootBucket).Bucket([]byte(b)).Bucket(objectsBucket)
		v := bytes.Clone(ob.Get([]byte("not-json")))
		v[0] = '['
		if err := ob.Put([]byte("not-json"), v); err != nil {
			return err
		}
		v = bytes.Clone(ob.Get([]byte("bad-mac")))
		return ob.Put([]byte("bad-mac"), bytes.Replace(v, []byte(`"size":`), []byte(`"size":0,"x":`), 1))
	})
	e.close()
	orphan := filepath.Join(e.cfg.Dir, "data", "ab", "ab"+strings.Repeat("0", 30))
	if err := os.WriteFile(orphan, []byte("orphan"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.cfg.Dir, "tmp", "put-123"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	rep, err := Check(ctx, e.cfg.Dir, false, e.kms)
	if err != nil {
		t.Fatal(err)
	}
	wantFound := []string{"check/flipped part 0", "check/not-json", "check/bad-mac", "orphan body file", "stale temp file", "upload stale-upload"}
	text := rep.String()
	for _, w := range wantFound {
		if !strings.Contains(text, w) {
			t.Errorf("report lacks %q:\n%s", w, text)
		}
	}
	if rep.OK() || len(rep.Problems) != len(wantFound) || rep.Objects != 5 || len(rep.Repaired) != 0 {
		t.Errorf("report: OK=%v, %d problems, %d objects, %d repaired:\n%s", rep.OK(), len(rep.Problems), rep.Objects, len(rep.Repaired), text)
	}

	rep, err = Check(ctx, e.cfg.Dir, true, e.kms)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Repaired) != 5 {
		t.Errorf("repair did %d things, want 5:\n%s", len(rep.Repaired), rep)
	}
	if _, err := os.Stat(notJSONFile); err != nil {
		t.Errorf("repair removed the body of a record it moved aside: %v", err)
	}
	rep, err = Check(ctx, e.cfg.Dir, false, e.kms)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "check/flipped") {
		t.Errorf("after repair: %v, want only the flipped body", rep.Problems)
	}
	// Without the KMS the sealed store key is not to be had: MACs and hashes go unchecked.
	rep, err = Check(ctx, e.cfg.Dir, false, nil)
	if err != nil || len(rep.Notes) == 0 || !rep.OK() {
		t.Errorf("without a KMS: %v, %s", err, rep)
	}

	e.open()
	if got, code := getCode(e, b, "good"); code != "" || !bytes.Equal(got, body) {
		t.Errorf("GET good after repair: %q", code)
	}
	for _, k := range []string{"not-json", "bad-mac"} {
		if _, code := getCode(e, b, k); code != "NoSuchKey" {
			t.Errorf("GET %s after repair: %q, want NoSuchKey (moved aside)", k, code)
		}
	}
	if _, err := Check(ctx, e.cfg.Dir, false, e.kms); err == nil {
		t.Error("Check of a store a server has open succeeded")
	}
	var aside []string
	_ = e.srv.st.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(damagedBucket).ForEach(func(k, _ []byte) error { aside = append(aside, string(k)); return nil })
	})
	if !slices.Equal(aside, []string{"check/bad-mac", "check/not-json"}) {
		t.Errorf("moved aside: %v", aside)
	}
}
