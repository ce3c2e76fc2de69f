package appliance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/kmsbox/kmsbox/s3lite"
)

// legacyVectors are the data keys in testdata/static-v1/datakeys.json, sealed by the static-key
// KMS kmsbox had before the static key moved to kescore (never regenerated).
type legacyVectors struct {
	Key     string `json:"key"`
	Vectors []struct {
		Context    string `json:"context"`
		Plaintext  []byte `json:"plaintext"`
		Ciphertext []byte `json:"ciphertext"`
	} `json:"vectors"`
}

func loadLegacyVectors(t testing.TB) legacyVectors {
	t.Helper()
	var v legacyVectors
	b, err := os.ReadFile(filepath.Join("testdata", "static-v1", "datakeys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

func openStatic(t testing.TB, spec string) *kmsAdapter {
	t.Helper()
	k, kes, err := openStaticKMS(context.Background(), spec, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kes.Close() })
	return k
}

// TestStaticKMSLegacyDataKeys: data keys sealed by the old static-key KMS still open, with
// their context only; new data keys are KES ciphertexts, never taken for the old framing.
func TestStaticKMSLegacyDataKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := loadLegacyVectors(t)
	k := openStatic(t, v.Key)
	for i, vec := range v.Vectors {
		got, err := k.Decrypt(ctx, "legacy-key", vec.Ciphertext, []byte(vec.Context))
		if err != nil || !bytes.Equal(got, vec.Plaintext) {
			t.Fatalf("vector %d: %x, %v; want %x", i, got, err, vec.Plaintext)
		}
		if _, err := k.Decrypt(ctx, "legacy-key", vec.Ciphertext, []byte(vec.Context+"x")); !errors.Is(err, s3lite.ErrKMSInvalidCiphertext) {
			t.Errorf("vector %d with another context: %v", i, err)
		}
		bad := bytes.Clone(vec.Ciphertext)
		bad[len(bad)-1] ^= 1
		if _, err := k.Decrypt(ctx, "legacy-key", bad, []byte(vec.Context)); !errors.Is(err, s3lite.ErrKMSInvalidCiphertext) {
			t.Errorf("vector %d tampered: %v", i, err)
		}
		if _, err := k.Decrypt(ctx, "other-key", vec.Ciphertext, []byte(vec.Context)); !errors.Is(err, s3lite.ErrKMSKeyNotFound) {
			t.Errorf("vector %d under another key name: %v", i, err)
		}
	}
	// The same name with other key material: the old data keys do not open.
	other := openStatic(t, "legacy-key:"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if _, err := other.Decrypt(ctx, "legacy-key", v.Vectors[0].Ciphertext, []byte(v.Vectors[0].Context)); !errors.Is(err, s3lite.ErrKMSInvalidCiphertext) {
		t.Errorf("old data key under another key of the same name: %v", err)
	}

	assoc := []byte(`{"bkt":"bkt/obj"}`)
	for range 50 {
		dek, err := k.GenerateKey(ctx, "", assoc)
		if err != nil || dek.KeyID != "legacy-key" || len(dek.Plaintext) != 32 {
			t.Fatalf("generate: %+v, %v", dek, err)
		}
		if k.legacy.opens(dek.KeyID, dek.Ciphertext) {
			t.Fatalf("a new (KES) ciphertext is taken for the old framing: %x", dek.Ciphertext)
		}
		got, err := k.Decrypt(ctx, dek.KeyID, dek.Ciphertext, assoc)
		if err != nil || !bytes.Equal(got, dek.Plaintext) {
			t.Fatalf("new data key: %v", err)
		}
	}
	if _, err := k.GenerateKey(ctx, "minio-key-1", assoc); !errors.Is(err, s3lite.ErrKMSKeyNotFound) {
		t.Errorf("generate under a key that is not the static key: %v", err)
	}
	if err := k.Status(ctx); err != nil {
		t.Errorf("status: %v", err)
	}
}

// TestStaticKMSDefaultKeyNotCreated: with a default key that is not the static key, a
// generate fails as before instead of making a key the static KMS never had.
func TestStaticKMSDefaultKeyNotCreated(t *testing.T) {
	t.Parallel()
	k, kes, err := openStaticKMS(context.Background(), "my-key:"+base64.StdEncoding.EncodeToString(make([]byte, 32)), "minio-key-1", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer kes.Close()
	for range 2 {
		if _, err := k.GenerateKey(context.Background(), "", nil); !errors.Is(err, s3lite.ErrKMSKeyNotFound) {
			t.Fatalf("generate under the missing default key: %v", err)
		}
	}
}

// TestStaticKMSLegacyObjects: an object store written with the static key by the old KMS
// (testdata/static-v1/s3) serves its objects under the new one, next to new objects.
func TestStaticKMSLegacyObjects(t *testing.T) {
	t.Parallel()
	v := loadLegacyVectors(t)
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "s3"), os.DirFS(filepath.Join("testdata", "static-v1", "s3"))); err != nil {
		t.Fatal(err)
	}
	e := s3tStart(t, Config{DataDir: dir, S3: S3Config{AccessKey: "s3tstatic", SecretKey: "s3t-static-secret-0123456789", AutoEncrypt: true},
		KMS: KMSConfig{StaticKey: v.Key}})
	body := bytes.Repeat([]byte("kmsbox legacy static key object\n"), 40)
	bkt := aws.String("legacy")
	s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("auto")}, body, s3tMD5(body))
	s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("kms")}, body, "")
	fresh := make([]byte, 5000)
	rand.Read(fresh)
	out, err := e.sdk.PutObject(context.Background(), &s3.PutObjectInput{Bucket: bkt, Key: aws.String("new"), Body: bytes.NewReader(fresh)})
	if err != nil || out.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Fatalf("PUT next to the old objects: %v", err)
	}
	s3tMustGet(t, e, &s3.GetObjectInput{Bucket: bkt, Key: aws.String("new")}, fresh, s3tMD5(fresh))
}

func TestParseStaticKey(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	rand.Read(key)
	for _, spec := range []string{"k1:" + base64.StdEncoding.EncodeToString(key), "k1:" + hex.EncodeToString(key), " k1:" + hex.EncodeToString(key) + "\n"} {
		name, got, err := parseStaticKey(spec)
		if err != nil || name != "k1" || !bytes.Equal(got, key) {
			t.Errorf("%q: %s %x %v", spec, name, got, err)
		}
	}
	for _, bad := range []string{"", "nokey", ":" + base64.StdEncoding.EncodeToString(key), "k:abc", "k:" + base64.StdEncoding.EncodeToString(key[:16]), "k:" + hex.EncodeToString(key)[:62] + "zz"} {
		if _, _, err := parseStaticKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzStaticKMSDecrypt: whatever a tampered record holds as the data key ciphertext, Decrypt
// fails cleanly or returns a 32-byte key (only an authentic ciphertext opens).
func FuzzStaticKMSDecrypt(f *testing.F) {
	v := loadLegacyVectors(f)
	for _, vec := range v.Vectors {
		f.Add(vec.Ciphertext, []byte(vec.Context))
	}
	f.Add([]byte{1}, []byte(nil))
	f.Add(bytes.Repeat([]byte{1}, legacyStaticSize), []byte("{}"))
	k := openStatic(f, v.Key)
	f.Fuzz(func(t *testing.T, ciphertext, assoc []byte) {
		pt, err := k.Decrypt(context.Background(), "legacy-key", ciphertext, assoc)
		if err == nil && len(pt) != 32 {
			t.Fatalf("opened a %d-byte key", len(pt))
		}
		if err != nil && !errors.Is(err, s3lite.ErrKMSInvalidCiphertext) {
			t.Fatalf("error %v is not ErrKMSInvalidCiphertext", err)
		}
	})
}
