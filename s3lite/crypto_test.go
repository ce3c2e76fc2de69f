package s3lite

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/sio"
)

func TestEncryptedSize(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{0, 1, 65535, 65536, 65537, 131072, 200000, 5 << 20, 5<<20 + 1} {
		want, err := sio.EncryptedSize(uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		if got := encryptedSize(n); got != int64(want) {
			t.Errorf("encryptedSize(%d) = %d, sio says %d", n, got, want)
		}
	}
}

func TestSealBinding(t *testing.T) {
	t.Parallel()
	kek := randBytes(32)
	oek, err := newObjectKey(kek)
	if err != nil {
		t.Fatal(err)
	}
	iv, sealed, err := sealObjectKey(oek, kek, sseS3, "bucket", "a/b")
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != 64 || len(iv) != 32 {
		t.Fatalf("sealed %d bytes, iv %d", len(sealed), len(iv))
	}
	got, err := unsealObjectKey(kek, iv, sealed, sseS3, "bucket", "a/b")
	if err != nil || !bytes.Equal(got, oek) {
		t.Fatalf("unseal: %v", err)
	}
	for name, try := range map[string]func() ([]byte, error){
		"other object": func() ([]byte, error) { return unsealObjectKey(kek, iv, sealed, sseS3, "bucket", "a/c") },
		"other bucket": func() ([]byte, error) { return unsealObjectKey(kek, iv, sealed, sseS3, "other", "a/b") },
		"other domain": func() ([]byte, error) { return unsealObjectKey(kek, iv, sealed, sseKMS, "bucket", "a/b") },
		"other kek":    func() ([]byte, error) { return unsealObjectKey(randBytes(32), iv, sealed, sseS3, "bucket", "a/b") },
		"flipped bit": func() ([]byte, error) {
			s := bytes.Clone(sealed)
			s[40] ^= 1
			return unsealObjectKey(kek, iv, s, sseS3, "bucket", "a/b")
		},
	} {
		if _, err := try(); !errors.Is(err, errUnseal) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestKMSContextBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ctx         map[string]string
		bucket, obj string
		want        string
	}{
		{nil, "b", "o", `{"b":"b/o"}`},
		{map[string]string{"z": "1", "a": "2"}, "m", "x/y", `{"a":"2","m":"m/x/y","z":"1"}`},
		{map[string]string{"b": "mine"}, "b", "o", `{"b":"mine"}`},
		{nil, "b", "<&>", `{"b":"b/\u003c\u0026\u003e"}`},
	} {
		if got := string(kmsContext(tc.ctx, tc.bucket, tc.obj)); got != tc.want {
			t.Errorf("kmsContext(%v, %s, %s) = %s, want %s", tc.ctx, tc.bucket, tc.obj, got, tc.want)
		}
	}
}

// TestRangePlanSpecExample checks the spec's worked example: a 200000-byte
// object read at bytes=70000-70099 decrypts from encrypted offset 65568,
// sequence number 1, skipping 4464 bytes.
func TestRangePlanSpecExample(t *testing.T) {
	t.Parallel()
	off, n := int64(70000), int64(100)
	pkg, skip := off/darePayload, off%darePayload
	encEnd := min(((off+n-1)/darePayload+1)*darePackage, encryptedSize(200000))
	if pkg*darePackage != 65568 || pkg != 1 || skip != 4464 || encEnd != 131136 {
		t.Errorf("plan: off %d seq %d skip %d end %d", pkg*darePackage, pkg, skip, encEnd)
	}
}

// TestOnDiskFormat decrypts a stored SSE-S3 object from first principles
// (spec section 3) with nothing but the KMS, sio and the metadata: the
// format is MinIO's scheme, not something only s3lite can read.
func TestOnDiskFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("format")
	data := randBytes(100000)
	if _, err := e.mc.PutObject(ctx, b, "dir/obj", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()}); err != nil {
		t.Fatal(err)
	}
	m, err := e.srv.st.getObject(context.Background(), b, "dir/obj")
	if err != nil {
		t.Fatal(err)
	}
	dec := func(k string) []byte {
		v, err := base64.StdEncoding.DecodeString(m.SSE[k])
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return v
	}
	if m.SSE["X-Minio-Internal-Server-Side-Encryption-Seal-Algorithm"] != "DAREv2-HMAC-SHA256" || m.SSE["X-Minio-Internal-Server-Side-Encryption-S3-Kms-Key-Id"] != testKeyID {
		t.Fatalf("metadata %v", m.SSE)
	}
	kek, err := e.kms.Decrypt(ctx, testKeyID, dec("X-Minio-Internal-Server-Side-Encryption-S3-Kms-Sealed-Key"), []byte(`{"format":"format/dir/obj"}`))
	if err != nil {
		t.Fatal(err)
	}
	iv := dec("X-Minio-Internal-Server-Side-Encryption-Iv")
	mac := hmac.New(sha256.New, kek)
	mac.Write(iv)
	mac.Write([]byte("SSE-S3"))
	mac.Write([]byte("DAREv2-HMAC-SHA256"))
	mac.Write([]byte("format/dir/obj"))
	oek, err := sio.DecryptBuffer(nil, dec("X-Minio-Internal-Server-Side-Encryption-S3-Sealed-Key"), sio.Config{MinVersion: sio.Version20, Key: mac.Sum(nil)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(e.cfg.Dir, "data", filepath.FromSlash(m.Parts[0].File)))
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != 0x20 || int64(len(raw)) != encryptedSize(int64(len(data))) {
		t.Fatalf("not a DARE 2.0 stream: version %#x, %d bytes", raw[0], len(raw))
	}
	plain, err := sio.DecryptBuffer(nil, raw, sio.Config{MinVersion: sio.Version20, Key: oek})
	if err != nil || !bytes.Equal(plain, data) {
		t.Fatalf("decrypt: %v", err)
	}
	if strings.Contains(string(raw), string(data[:64])) {
		t.Error("plaintext in the stored file")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := (&Config{AutoEncrypt: true, Credentials: map[string]string{"ab": "short"}, Domain: "http://x"}).Validate()
	for _, want := range []string{"Dir is required", "shorter than 3", "shorter than 8", "AutoEncrypt needs a KMS", "bare host name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if err := (&Config{Dir: t.TempDir(), Credentials: map[string]string{"abc": "12345678"}}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if _, err := Open(context.Background(), Config{}); err == nil {
		t.Error("Open accepted an empty config")
	}
}
