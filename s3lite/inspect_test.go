package s3lite

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/sse"
)

// TestInspect checks the console's view of the store against objects uploaded by a real
// client in every SSE mode: what is listed, how each key is sealed, and the live check of
// the key chain, which breaks while the KMS is down and when metadata is tampered with.
func TestInspect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	bk := e.bucket("inspect")
	if err := e.mc.SetBucketEncryption(ctx, e.bucket("kmsdefault"), sse.NewConfigurationSSEKMS("minio-key-1")); err != nil {
		t.Fatal(err)
	}
	ssec, err := encrypt.NewSSEC(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	kms, err := encrypt.NewSSEKMS(testKeyID, map[string]string{"team": "a"})
	if err != nil {
		t.Fatal(err)
	}
	for key, s := range map[string]encrypt.ServerSide{"plain": nil, "s3/a": encrypt.NewSSE(), "s3/b": encrypt.NewSSE(), "kms": kms, "ssec": ssec} {
		if _, err := e.mc.PutObject(ctx, bk, key, strings.NewReader("data of "+key), -1,
			minio.PutObjectOptions{ServerSideEncryption: s}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}

	bs, err := e.srv.Buckets(ctx)
	if err != nil || len(bs) != 2 || bs[0].Name != "inspect" || bs[0].SSE != "" || bs[1].SSE != "SSE-KMS" || bs[1].KeyID != "minio-key-1" {
		t.Fatalf("Buckets = %+v, %v", bs, err)
	}

	objs, err := e.srv.Objects(ctx, bk, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Key+"="+o.SSE+"/"+o.KeyID)
	}
	want := "kms=SSE-KMS/minio-key-1 plain=/ s3/a=SSE-S3/minio-key-1 s3/b=SSE-S3/minio-key-1 ssec=SSE-C/"
	if strings.Join(got, " ") != want {
		t.Fatalf("Objects = %v, want %s", got, want)
	}
	if objs, _ := e.srv.Objects(ctx, bk, "s3/", 1); len(objs) != 1 || objs[0].Key != "s3/a" || objs[0].Size != int64(len("data of s3/a")) {
		t.Fatalf("Objects(prefix s3/, limit 1) = %+v", objs)
	}

	sk, err := e.srv.Sealed(ctx, bk, "kms")
	if err != nil {
		t.Fatal(err)
	}
	var kctx map[string]string
	if sk.SealAlgorithm != sealAlgo || len(sk.IV) != 32 || len(sk.Sealed) == 0 || len(sk.DataKey) == 0 ||
		json.Unmarshal(sk.Context, &kctx) != nil || kctx["team"] != "a" || kctx["inspect"] != "inspect/kms" {
		t.Fatalf("Sealed(kms) = %+v (context %s)", sk, sk.Context)
	}
	if sk.Check != nil {
		t.Fatalf("Sealed(kms).Check = %v, want the chain to hold", sk.Check)
	}
	if sk, err := e.srv.Sealed(ctx, bk, "ssec"); err != nil || len(sk.Sealed) == 0 || sk.DataKey != nil || sk.Context != nil {
		t.Fatalf("Sealed(ssec) = %+v, %v", sk, err)
	}
	if sk, err := e.srv.Sealed(ctx, bk, "plain"); err != nil || sk.Sealed != nil || sk.Object.SSE != "" {
		t.Fatalf("Sealed(plain) = %+v, %v", sk, err)
	}

	for _, k := range []string{"plain", "s3/a", "kms", "ssec"} {
		if err := e.srv.CheckKey(ctx, bk, k); err != nil {
			t.Errorf("CheckKey(%s) = %v", k, err)
		}
	}
	if err := e.srv.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	e.kms.down.Store(true)
	if err := e.srv.CheckKey(ctx, bk, "s3/a"); !errors.Is(err, ErrKMSUnavailable) {
		t.Fatalf("CheckKey with the KMS down = %v, want ErrKMSUnavailable", err)
	}
	if sk, err := e.srv.Sealed(ctx, bk, "s3/a"); err != nil || len(sk.Sealed) == 0 || !errors.Is(sk.Check, ErrKMSUnavailable) {
		t.Fatalf("Sealed with the KMS down = %+v, %v; want the sealed key and Check ErrKMSUnavailable", sk, err)
	}
	if err := e.srv.Ready(ctx); !errors.Is(err, ErrKMSUnavailable) {
		t.Fatalf("Ready with the KMS down = %v", err)
	}
	e.kms.down.Store(false)

	// A record whose sealed key was altered fails the check (and a GET), never unseals.
	m, err := e.srv.st.getObject(context.Background(), bk, "s3/b")
	if err != nil {
		t.Fatal(err)
	}
	sealed := []byte(m.SSE[metaS3Sealed])
	sealed[3] ^= 1
	m.SSE[metaS3Sealed] = string(sealed)
	if _, err := e.srv.st.putObject(context.Background(), bk, m, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.CheckKey(ctx, bk, "s3/b"); !errors.Is(err, ErrTampered) {
		t.Fatalf("CheckKey of a tampered sealed key = %v, want ErrTampered", err)
	}
	if sk, err := e.srv.Sealed(ctx, bk, "s3/b"); err != nil || !errors.Is(sk.Check, ErrTampered) {
		t.Fatalf("Sealed of a tampered sealed key: Check %v, %v; want ErrTampered", sk.Check, err)
	}

	// A context that is no JSON shows as the default one; the check finds the tampering.
	m, err = e.srv.st.getObject(context.Background(), bk, "kms")
	if err != nil {
		t.Fatal(err)
	}
	m.SSE[metaContext] = base64.StdEncoding.EncodeToString([]byte("{not json"))
	if _, err := e.srv.st.putObject(context.Background(), bk, m, nil); err != nil {
		t.Fatal(err)
	}
	if sk, err := e.srv.Sealed(ctx, bk, "kms"); err != nil || string(sk.Context) != string(kmsContext(nil, bk, "kms")) || !errors.Is(sk.Check, ErrTampered) {
		t.Fatalf("Sealed with a tampered context = context %s, Check %v, %v; want the default context and ErrTampered", sk.Context, sk.Check, err)
	}
	if err := e.srv.CheckKey(ctx, bk, "s3/a"); err != nil {
		t.Fatalf("CheckKey of an untouched neighbour = %v", err)
	}

	for name, err := range map[string]error{
		"Objects/no bucket": func() error { _, err := e.srv.Objects(ctx, "nobucket", "", 1); return err }(),
		"Sealed/no key":     func() error { _, err := e.srv.Sealed(ctx, bk, "nokey"); return err }(),
		"CheckKey/no key":   e.srv.CheckKey(ctx, bk, "nokey"),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", name, err)
		}
	}

	// A cancelled context stops every read before it starts.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for name, err := range map[string]error{
		"Buckets":  func() error { _, err := e.srv.Buckets(cancelled); return err }(),
		"Objects":  func() error { _, err := e.srv.Objects(cancelled, bk, "", 1); return err }(),
		"Sealed":   func() error { _, err := e.srv.Sealed(cancelled, bk, "s3/a"); return err }(),
		"CheckKey": e.srv.CheckKey(cancelled, bk, "s3/a"),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", name, err)
		}
	}
}
