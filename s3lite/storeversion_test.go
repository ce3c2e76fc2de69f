package s3lite

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	bolt "go.etcd.io/bbolt"
)

// editBucket closes the server, runs edit on bucket b's bolt bucket (an attacker with
// write access to meta.db) and opens the server again.
func editBucket(t *testing.T, e *env, b string, edit func(bb *bolt.Bucket) error) {
	t.Helper()
	e.close()
	db, err := bolt.Open(filepath.Join(e.cfg.Dir, "meta.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return edit(tx.Bucket(rootBucket).Bucket([]byte(b))) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	e.open()
}

// threeVersions makes versions "one", "two", "three" of b/k and returns their ids.
func threeVersions(t *testing.T, e *env, b string) []string {
	t.Helper()
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	var ids []string
	for _, body := range []string{"one", "two", "three"} {
		ids = append(ids, putBody(t, e, b, "k", body))
	}
	return ids
}

// TestVersionFilesSurviveReopen: Open's sweep keeps the body files of noncurrent versions.
func TestVersionFilesSurviveReopen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bucket("vreopen")
	ids := threeVersions(t, e, b)
	before := countDataFiles(t, e)
	e.restart()
	if n := countDataFiles(t, e); n != before || n != 3 {
		t.Errorf("%d body files after reopen, want %d (3)", n, before)
	}
	for i, want := range []string{"one", "two", "three"} {
		if got, code := getBody(t, e, b, "k", ids[i]); got != want {
			t.Errorf("version %d after reopen: %q %s", i, got, code)
		}
	}
}

// TestTamperedVersionRecord: a noncurrent record edited or moved under another version
// is refused (500 XMinioObjectTampered), left out of listings and reported by Check.
func TestTamperedVersionRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("vtamper")
	ids := threeVersions(t, e, b)
	editBucket(t, e, b, func(bb *bolt.Bucket) error {
		vb := bb.Bucket(versionsBucket)
		k1 := versionRecordKey("k", ids[0])
		var r record
		if err := json.Unmarshal(vb.Get(k1), &r); err != nil {
			return err
		}
		r["size"] = 2 // an edited size
		v, _ := json.Marshal(r)
		return vb.Put(k1, v)
	})
	if _, code := getBody(t, e, b, "k", ids[0]); code != "XMinioObjectTampered" {
		t.Errorf("edited version: %s", code)
	}
	if got, _ := getBody(t, e, b, "k", ids[1]); got != "two" {
		t.Errorf("untouched version: %q", got)
	}
	out, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if err != nil || len(out.Versions) != 2 {
		t.Errorf("listing with a damaged version: %d %v", len(out.Versions), err)
	}
	e.close()
	rep, err := Check(ctx, e.cfg.Dir, false, e.kms)
	if err != nil || rep.OK() || !strings.Contains(rep.String(), "k?versionId="+ids[0]) || rep.Objects != 3 {
		t.Errorf("Check: %v\n%s", err, rep)
	}
	rep, err = Check(ctx, e.cfg.Dir, true, e.kms)
	if err != nil || len(rep.Repaired) != 1 {
		t.Errorf("Check repair: %v\n%s", err, rep)
	}
	if rep, err = Check(ctx, e.cfg.Dir, false, e.kms); err != nil || !rep.OK() {
		t.Errorf("Check after repair: %v\n%s", err, rep)
	}
	e.open()

	// A record moved under another version's key fails its MAC (bound to the version).
	editBucket(t, e, b, func(bb *bolt.Bucket) error {
		vb, mb := bb.Bucket(versionsBucket), bb.Bucket(versionMACsBucket)
		k2 := versionRecordKey("k", ids[1])
		forged := versionRecordKey("k", ids[0])
		if err := vb.Put(forged, bytes.Clone(vb.Get(k2))); err != nil {
			return err
		}
		return mb.Put(forged, bytes.Clone(mb.Get(k2)))
	})
	if _, code := getBody(t, e, b, "k", ids[0]); code != "XMinioObjectTampered" {
		t.Errorf("moved version record: %s", code)
	}
	// A version record without its MAC is refused.
	editBucket(t, e, b, func(bb *bolt.Bucket) error {
		return bb.Bucket(versionMACsBucket).Delete(versionRecordKey("k", ids[1]))
	})
	if _, code := getBody(t, e, b, "k", ids[1]); code != "XMinioObjectTampered" {
		t.Errorf("version record without a MAC: %s", code)
	}
}

// TestCheckVersionedStore: Check verifies the bodies of noncurrent versions and finds
// nothing wrong with a healthy versioned store.
func TestCheckVersionedStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("vcheck")
	threeVersions(t, e, b)
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	e.close()
	rep, err := Check(ctx, e.cfg.Dir, false, e.kms)
	if err != nil || !rep.OK() || rep.Objects != 4 || rep.Parts != 3 {
		t.Errorf("Check: %v\n%s", err, rep)
	}
	e.open()
}

func TestExpireNoncurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("vexpire")
	setVersioning(t, e, b, types.BucketVersioningStatusEnabled)
	t0 := time.Now().Truncate(time.Second)
	var ids []string
	for i, body := range []string{"one", "two", "three", "four"} {
		at := t0.Add(time.Duration(i) * time.Minute)
		e.now.Store(&at)
		ids = append(ids, putBody(t, e, b, "k", body))
	}
	// one became noncurrent at t0+1m, two at t0+2m, three at t0+3m.
	st := e.srv.st
	got, err := st.expireNoncurrent(ctx, b, "k", t0.Add(150*time.Second), 0, true)
	if err != nil || len(got) != 2 || got[0].VersionID != ids[1] || got[1].VersionID != ids[0] {
		t.Fatalf("dry run: %+v %v", got, err)
	}
	files := countDataFiles(t, e)
	if got, err = st.expireNoncurrent(ctx, b, "k", t0.Add(time.Hour), 2, false); err != nil || len(got) != 1 || got[0].VersionID != ids[0] {
		t.Fatalf("keep 2: %+v %v", got, err)
	}
	if n := countDataFiles(t, e); n != files-1 {
		t.Errorf("%d body files, want %d", n, files-1)
	}
	if _, code := getBody(t, e, b, "k", ids[0]); code != "NoSuchVersion" {
		t.Errorf("expired version: %s", code)
	}
	if got, err = st.expireNoncurrent(ctx, b, "k", t0.Add(time.Hour), 0, false); err != nil || len(got) != 2 {
		t.Fatalf("expire all noncurrent: %+v %v", got, err)
	}
	if body, _ := getBody(t, e, b, "k", ""); body != "four" {
		t.Errorf("current version after expiry: %q", body)
	}
}

// TestVersionOrderStoppedClock: versions written at the same instant still list newest
// first.
func TestVersionOrderStoppedClock(t *testing.T) {
	t.Parallel()
	now := time.Now()
	prev := ""
	for range 100 {
		id, err := newVersion(now, prev)
		if err != nil {
			t.Fatal(err)
		}
		if prev != "" && id >= prev || !validVersionID(id) {
			t.Fatalf("id %q after %q", id, prev)
		}
		prev = id
	}
	e := newEnv(t)
	b := e.bucket("vclock")
	e.now.Store(&now)
	ids := threeVersions(t, e, b)
	out, err := e.s3.ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	if got := versionLines(out); err != nil || strings.Join(got, " ") != "k@"+ids[2]+"* k@"+ids[1]+" k@"+ids[0] {
		t.Errorf("stopped clock listing %v %v", got, err)
	}
}

// TestMissingVersionBody: a noncurrent version whose body file is gone answers
// XMinioObjectTampered, and only that version.
func TestMissingVersionBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bucket("vmissing")
	ids := threeVersions(t, e, b)
	m, err := e.srv.st.getObjectVersion(context.Background(), b, "k", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(e.srv.st.dataDir, filepath.FromSlash(m.Parts[0].File))); err != nil {
		t.Fatal(err)
	}
	if _, code := getBody(t, e, b, "k", ids[0]); code != "XMinioObjectTampered" {
		t.Errorf("version without its body: %s", code)
	}
	if got, _ := getBody(t, e, b, "k", ids[1]); got != "two" {
		t.Errorf("another version: %q", got)
	}
}
