//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kmsbox/kmsbox/internal/testutil"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// TestRealMinIO is the guide's last step with the real MinIO server: MinIO takes its keys
// from kmsbox's KES over mTLS with the MinIO identity and the env file's MINIO_KMS_KES_*
// variables, encrypts every upload with minio-key-1, and stops serving encrypted objects
// the moment kmsbox's vault is sealed, until it is unsealed again.
func TestRealMinIO(t *testing.T) {
	bin := peerBin(t, "KMSBOX_MINIO_BIN", "bin/minio")
	srv := startServer(t, t.TempDir())
	addr, console := testutil.FreeAddr(t), testutil.FreeAddr(t)
	disk := t.TempDir()
	env := minioKMSEnv(t, srv, "guide-admin", "guide-admin-secret")
	startPeer(t, bin, "", []string{"server", disk, "--address", addr, "--console-address", console}, env, "API:")

	mc, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4("guide-admin", "guide-admin-secret", ""), MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := mc.MakeBucket(ctx, "guide", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 300<<10)
	rand.Read(body)
	put := func(key string, sse encrypt.ServerSide) error {
		_, err := mc.PutObject(ctx, "guide", key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ServerSideEncryption: sse})
		return err
	}
	get := func(key string) error {
		obj, err := mc.GetObject(ctx, "guide", key, minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer obj.Close()
		got, err := io.ReadAll(obj)
		if err == nil && !bytes.Equal(got, body) {
			t.Errorf("GET %s returned other bytes", key)
		}
		return err
	}
	if err := put("auto.bin", nil); err != nil {
		t.Fatalf("upload with auto-encryption: %v", err)
	}
	if err := put("sse-s3.bin", encrypt.NewSSE()); err != nil {
		t.Fatalf("upload with SSE-S3: %v", err)
	}
	for key, want := range map[string]string{"auto.bin": "aws:kms", "sse-s3.bin": "AES256"} {
		st, err := mc.StatObject(ctx, "guide", key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Metadata.Get("X-Amz-Server-Side-Encryption"); got != want {
			t.Errorf("%s: x-amz-server-side-encryption %q, want %q", key, got, want)
		}
		if err := get(key); err != nil {
			t.Errorf("GET %s: %v", key, err)
		}
	}
	if got := mustStat(t, mc, "auto.bin").Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); !strings.HasSuffix(got, srv.env["MINIO_KMS_KES_KEY_NAME"]) {
		t.Errorf("auto-encrypted object's key id %q, want kmsbox's %s", got, srv.env["MINIO_KMS_KES_KEY_NAME"])
	}
	noPlaintextAtRest(t, disk, map[string][]byte{"the object": body[:4096]})

	// The emergency stop: sealing kmsbox's vault stops MinIO's encrypted reads and writes.
	vaultDo := func(path string, payload any) {
		t.Helper()
		var rd io.Reader
		if payload != nil {
			b, _ := json.Marshal(payload)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(http.MethodPut, srv.env["VAULT_ADDR"]+path, rd)
		req.Header.Set("X-Vault-Token", srv.env["VAULT_TOKEN"])
		resp, err := httpsClient(t, caPool(t, srv.caFile()), "", "").Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("vault PUT %s: %s", path, resp.Status)
		}
	}
	vaultDo("/v1/sys/seal", nil)
	if code := minio.ToErrorResponse(get("auto.bin")).Code; code != "kms:DecryptionFailed" {
		t.Errorf("GET with kmsbox's vault sealed: code %q, want kms:DecryptionFailed", code)
	}
	if code := minio.ToErrorResponse(put("sealed.bin", nil)).Code; code != "kms:KeyGenerationFailed" {
		t.Errorf("PUT with kmsbox's vault sealed: code %q, want kms:KeyGenerationFailed", code)
	}

	vaultDo("/v1/sys/unseal", map[string]string{"key": srv.devUnsealKey(t)})
	if err := get("auto.bin"); err != nil {
		t.Errorf("GET after unseal: %v", err)
	}
	if err := put("after-unseal.bin", nil); err != nil {
		t.Errorf("PUT after unseal: %v", err)
	}
}

// minioKMSEnv is the environment of a real MinIO with the root credentials user and
// password, its KMS on srv's KES (the env file's MINIO_KMS_KES_* variables) and
// auto-encryption on.
func minioKMSEnv(t testing.TB, srv *proc, user, password string) []string {
	t.Helper()
	env := append(baseEnv(t.TempDir()),
		"MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+password,
		"MINIO_KMS_AUTO_ENCRYPTION=on", "MINIO_BROWSER=off", "MINIO_UPDATE=off")
	for _, v := range []string{"MINIO_KMS_KES_ENDPOINT", "MINIO_KMS_KES_CERT_FILE", "MINIO_KMS_KES_KEY_FILE", "MINIO_KMS_KES_KEY_NAME", "MINIO_KMS_KES_CAPATH"} {
		if srv.env[v] == "" {
			t.Fatalf("the env file has no %s", v)
		}
		env = append(env, v+"="+srv.env[v])
	}
	return env
}

func mustStat(t testing.TB, mc *minio.Client, key string) minio.ObjectInfo {
	t.Helper()
	st, err := mc.StatObject(context.Background(), "guide", key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
