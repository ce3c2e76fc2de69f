package s3lite

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	bolt "go.etcd.io/bbolt"
)

// putPlain stores body at bucket/key through S3.
func putPlain(t *testing.T, e *env, bucket, key string, body []byte) {
	t.Helper()
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// TestRecordMACsBindKeyAndBucket copies a record together with its MAC to another key and
// to the same key in another bucket, and strips a MAC: each is refused, the originals read.
func TestRecordMACsBindKeyAndBucket(t *testing.T) {
	e := newEnv(t)
	b1, b2 := e.bucket("mac-one"), e.bucket("mac-two")
	body := randBytes(1000)
	for _, k := range []string{"a", "b", "c"} {
		putPlain(t, e, b1, k, body)
	}
	putPlain(t, e, b2, "a", randBytes(1000))
	editDB(t, e, func(tx *bolt.Tx) error {
		one, two := tx.Bucket(rootBucket).Bucket([]byte(b1)), tx.Bucket(rootBucket).Bucket([]byte(b2))
		rec, mac := one.Bucket(objectsBucket).Get([]byte("a")), getMAC(one, "a")
		if err := one.Bucket(objectsBucket).Put([]byte("b"), bytes.Clone(rec)); err != nil {
			return err
		}
		if err := one.Bucket(macsBucket).Put([]byte("b"), bytes.Clone(mac)); err != nil {
			return err
		}
		if err := two.Bucket(objectsBucket).Put([]byte("a"), bytes.Clone(rec)); err != nil {
			return err
		}
		if err := two.Bucket(macsBucket).Put([]byte("a"), bytes.Clone(mac)); err != nil {
			return err
		}
		return one.Bucket(macsBucket).Delete([]byte("c"))
	})
	for _, o := range [][2]string{{b1, "b"}, {b2, "a"}, {b1, "c"}} {
		if got, code := getCode(e, o[0], o[1]); code != "XMinioObjectTampered" {
			t.Errorf("GET %s/%s: %q (%d bytes), want XMinioObjectTampered", o[0], o[1], code, len(got))
		}
	}
	if got, code := getCode(e, b1, "a"); code != "" || !bytes.Equal(got, body) {
		t.Errorf("GET of the original: %q", code)
	}
}

// stripMACs turns the store into one written before record MACs: no MACs, no marker.
func stripMACs(tx *bolt.Tx) error {
	for _, m := range [][]byte{sysMACsMarker, sysBMACsMarker} {
		if err := tx.Bucket(sysBucket).Delete(m); err != nil {
			return err
		}
	}
	return tx.Bucket(rootBucket).ForEachBucket(func(name []byte) error {
		b := tx.Bucket(rootBucket).Bucket(name)
		if err := b.Delete(infoMACKey); err != nil {
			return err
		}
		return b.DeleteBucket(macsBucket)
	})
}

// TestRecordMACMigration opens a store whose records have no MACs (as before MACs
// existed): the records are MAC'd once and read, and a MAC stripped afterwards is refused,
// not given back.
func TestRecordMACMigration(t *testing.T) {
	e := newEnv(t)
	b := e.bucket("legacy")
	body := randBytes(5000)
	putPlain(t, e, b, "x", body)
	putPlain(t, e, b, "y", body)
	editDB(t, e, stripMACs)
	for _, k := range []string{"x", "y"} {
		if got, code := getCode(e, b, k); code != "" || !bytes.Equal(got, body) {
			t.Errorf("GET %s after migration: %q", k, code)
		}
	}
	editDB(t, e, func(tx *bolt.Tx) error {
		return tx.Bucket(rootBucket).Bucket([]byte(b)).Bucket(macsBucket).Delete([]byte("y"))
	})
	if _, code := getCode(e, b, "y"); code != "XMinioObjectTampered" {
		t.Errorf("GET of a record stripped of its MAC after migration: %q", code)
	}
	if got, code := getCode(e, b, "x"); code != "" || !bytes.Equal(got, body) {
		t.Errorf("GET x: %q", code)
	}
}

// TestStoreKeyPlacement: with a KMS the store key is made when the first object needs it
// and kept sealed (nothing in the clear), without one in the clear; a KMS that is down at
// Open does not stop Open, plaintext objects answer the KMS error until it is back.
func TestStoreKeyPlacement(t *testing.T) {
	sysKeys := func(e *env) (sealed, clear bool) {
		_ = e.srv.st.db.View(func(tx *bolt.Tx) error {
			sys := tx.Bucket(sysBucket)
			sealed, clear = sys.Get(sysSealedKey) != nil, sys.Get(sysClearKey) != nil
			return nil
		})
		return
	}
	e := newEnv(t)
	b := e.bucket("keyplace")
	if sealed, clear := sysKeys(e); sealed || clear {
		t.Errorf("with a KMS, before any object: sealed=%v clear=%v, want neither (no KMS key made)", sealed, clear)
	}
	body := randBytes(100)
	putPlain(t, e, b, "p", body)
	if sealed, clear := sysKeys(e); !sealed || clear {
		t.Errorf("with a KMS: sealed=%v clear=%v, want sealed only", sealed, clear)
	}
	e.close()
	e.kms.down.Store(true)
	e.open()
	if _, code := getCode(e, b, "p"); code != "kms:DecryptionFailed" {
		t.Errorf("GET with the KMS down: %q, want kms:DecryptionFailed", code)
	}
	e.kms.down.Store(false)
	if got, code := getCode(e, b, "p"); code != "" || !bytes.Equal(got, body) {
		t.Errorf("GET with the KMS back: %q", code)
	}

	n := newEnv(t, func(c *Config) { c.KMS = nil })
	if sealed, clear := sysKeys(n); sealed || !clear {
		t.Errorf("without a KMS: sealed=%v clear=%v, want clear only", sealed, clear)
	}
}
