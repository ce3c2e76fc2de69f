package kesclient_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/minio/kms-go/kes"

	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/kescore/kesclient"
)

// kesServer is the real kescore server over mTLS on 127.0.0.1:0, with the
// guide's policy: MinIO may create, generate and decrypt minio-* keys.
type kesServer struct {
	srv          *httptest.Server
	store        *kescore.MemKeyStore
	admin, minio tls.Certificate
	roots        *x509.CertPool
}

func startKescore(t *testing.T) *kesServer {
	t.Helper()
	k := &kesServer{store: kescore.NewMemKeyStore(), admin: newIdentity(t, "admin"), minio: newIdentity(t, "MinIO")}
	s, err := kescore.Open(context.Background(), kescore.Config{
		Store: k.store,
		Admin: identityOf(k.admin.Leaf),
		Policies: map[string]kescore.Policy{"minio": {
			Allow:      []string{"/v1/key/create/minio-*", "/v1/key/generate/minio-*", "/v1/key/decrypt/minio-*"},
			Identities: []string{identityOf(k.minio.Leaf)},
		}},
		Cache: kescore.CacheConfig{Expiry: -1, ExpiryUnused: -1}, // every call reaches the store
	})
	if err != nil {
		t.Fatal(err)
	}
	k.srv = httptest.NewUnstartedServer(s.Handler())
	k.srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS12}
	k.srv.EnableHTTP2 = true
	k.srv.StartTLS()
	t.Cleanup(func() {
		k.srv.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	k.roots = x509.NewCertPool()
	k.roots.AddCert(k.srv.Certificate())
	return k
}

func (k *kesServer) client(t *testing.T, cert tls.Certificate) *kesclient.Client {
	t.Helper()
	c, err := kesclient.New(kesclient.Config{
		Endpoints:     []string{k.srv.URL},
		TLS:           &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: k.roots},
		MinRetryDelay: time.Millisecond, MaxRetryDelay: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (k *kesServer) ref(cert tls.Certificate) *kes.Client {
	return kes.NewClientWithConfig(k.srv.URL, &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: k.roots})
}

// TestKescore drives every client call against the real kescore server.
func TestKescore(t *testing.T) {
	ctx := t.Context()
	k := startKescore(t)
	admin, minio := k.client(t, k.admin), k.client(t, k.minio)

	v, err := admin.Version(ctx)
	if err != nil || v.Version == "" {
		t.Fatalf("version: %+v %v", v, err)
	}
	st, err := admin.Status(ctx)
	if err != nil || st.KeyStoreUnavailable || st.KeyStoreLatency <= 0 || st.NumCPU < 1 || st.OS == "" {
		t.Fatalf("status: %+v %v", st, err)
	}
	if err := admin.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	self, err := admin.DescribeSelf(ctx)
	if err != nil || !self.IsAdmin || self.Identity != identityOf(k.admin.Leaf) {
		t.Fatalf("admin self: %+v %v", self, err)
	}
	self, err = minio.DescribeSelf(ctx)
	if err != nil || self.IsAdmin || self.Policy != "minio" || len(self.Allow) != 3 || self.Allow[0] != "/v1/key/create/minio-*" {
		t.Fatalf("minio self: %+v %v", self, err)
	}

	// The guide's step 4.3.
	if err := minio.CreateKey(ctx, "minio-key-1"); err != nil {
		t.Fatal(err)
	}
	if err := minio.CreateKey(ctx, "my-key-1"); !errors.Is(err, kesclient.ErrNotAllowed) {
		t.Fatalf("my-key-1 as MinIO: %v", err)
	}
	if err := minio.CreateKey(ctx, "minio-key-1"); !errors.Is(err, kesclient.ErrKeyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := minio.ListKeys(ctx, ""); !errors.Is(err, kesclient.ErrNotAllowed) {
		t.Fatalf("list as MinIO: %v", err)
	}
	plain, ct, err := minio.GenerateKey(ctx, "minio-key-1", []byte("bucket/object"))
	if err != nil || len(plain) != 32 || len(ct) != 32+16+28 {
		t.Fatalf("generate: %d %d %v", len(plain), len(ct), err)
	}
	if p, err := minio.Decrypt(ctx, "minio-key-1", ct, []byte("bucket/object")); err != nil || !bytes.Equal(p, plain) {
		t.Fatalf("decrypt: %v", err)
	}
	if _, err := minio.Decrypt(ctx, "minio-key-1", ct, []byte("other")); !errors.Is(err, kesclient.ErrDecrypt) {
		t.Fatalf("wrong context: %v", err)
	}
	ct[len(ct)/2] ^= 0x80
	if _, err := minio.Decrypt(ctx, "minio-key-1", ct, []byte("bucket/object")); !errors.Is(err, kesclient.ErrDecrypt) {
		t.Fatalf("tampered: %v", err)
	}
	if _, _, err := minio.GenerateKey(ctx, "minio-missing", nil); !errors.Is(err, kesclient.ErrKeyNotFound) {
		t.Fatalf("missing key: %v", err)
	}

	if err := admin.ImportKey(ctx, "imported", bytes.Repeat([]byte{9}, 32), kesclient.ChaCha20); err != nil {
		t.Fatal(err)
	}
	if err := admin.ImportKey(ctx, "imported", bytes.Repeat([]byte{9}, 32), kesclient.ChaCha20); !errors.Is(err, kesclient.ErrKeyExists) {
		t.Fatalf("import existing: %v", err)
	}
	var kerr *kesclient.Error
	if err := admin.ImportKey(ctx, "short", []byte{1, 2, 3}, kesclient.AES256); !errors.As(err, &kerr) || kerr.Status != http.StatusNotAcceptable {
		t.Fatalf("import short key: %v", err)
	}
	info, err := admin.DescribeKey(ctx, "imported")
	if err != nil || info.Name != "imported" || info.Algorithm != "ChaCha20" || info.CreatedAt.IsZero() || info.CreatedBy != identityOf(k.admin.Leaf) {
		t.Fatalf("describe: %+v %v", info, err)
	}
	if _, err := admin.DescribeKey(ctx, "nope"); !errors.Is(err, kesclient.ErrKeyNotFound) {
		t.Fatalf("describe missing: %v", err)
	}
	ct2, err := admin.Encrypt(ctx, "imported", []byte("secret"), []byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := admin.Decrypt(ctx, "imported", ct2, []byte("c")); err != nil || string(p) != "secret" {
		t.Fatalf("encrypt/decrypt: %q %v", p, err)
	}
	mac, err := admin.HMAC(ctx, "imported", []byte("m"))
	if err != nil || len(mac) != 32 {
		t.Fatalf("hmac: %v", err)
	}
	names, err := admin.ListKeys(ctx, "")
	if err != nil || strings.Join(names, ",") != "imported,minio-key-1" {
		t.Fatalf("list: %v %v", names, err)
	}
	// kescore refuses the pattern "minio-" as KES does; the client asks for
	// "minio" and filters, so both spellings of the prefix work.
	for _, prefix := range []string{"minio-", "minio-*", "minio"} {
		names, err = admin.ListKeys(ctx, prefix)
		if err != nil || strings.Join(names, ",") != "minio-key-1" {
			t.Fatalf("list prefix %q: %v %v", prefix, names, err)
		}
	}
	if names, err = admin.ListKeys(ctx, "zzz"); err != nil || len(names) != 0 {
		t.Fatalf("list none: %v %v", names, err)
	}
	if err := admin.DeleteKey(ctx, "imported"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DescribeKey(ctx, "imported"); !errors.Is(err, kesclient.ErrKeyNotFound) {
		t.Fatalf("after delete: %v", err)
	}

	// An identity no policy knows.
	stranger := k.client(t, newIdentity(t, "stranger"))
	if err := stranger.CreateKey(ctx, "minio-x"); !errors.Is(err, kesclient.ErrNotAllowed) {
		t.Fatalf("unknown identity: %v", err)
	}

	// The key store goes away: ready and key operations fail with the
	// server's messages, status reports it.
	k.store.SetDown(kescore.ErrStoreUnavailable)
	if err := admin.Ready(ctx); err == nil {
		t.Fatal("ready while the store is down")
	} else if !errors.As(err, &kerr) || kerr.Status < 500 {
		t.Fatalf("ready while down: %v", err)
	}
	if st, err := admin.Status(ctx); err != nil || !st.KeyStoreUnavailable {
		t.Fatalf("status while down: %+v %v", st, err)
	}
	if err := admin.CreateKey(ctx, "while-down"); !errors.As(err, &kerr) || kerr.Status < 500 {
		t.Fatalf("create while down: %v", err)
	}
	k.store.SetDown(nil)
	if err := admin.CreateKey(ctx, "after-down"); err != nil {
		t.Fatal(err)
	}
}

// TestKescoreCrossCheck makes the same calls with kms-go's client: both
// clients must succeed together and fail with the same sentinels.
func TestKescoreCrossCheck(t *testing.T) {
	ctx := t.Context()
	k := startKescore(t)
	ours, ref := k.client(t, k.minio), k.ref(k.minio)
	oursAdmin, refAdmin := k.client(t, k.admin), k.ref(k.admin)

	type pair struct {
		name      string
		ours, ref func() error
	}
	var dek kes.DEK
	var ourCT []byte
	for _, p := range []pair{
		{"create", func() error { return ours.CreateKey(ctx, "minio-a") }, func() error { return ref.CreateKey(ctx, "minio-b") }},
		{"create again", func() error { return ours.CreateKey(ctx, "minio-b") }, func() error { return ref.CreateKey(ctx, "minio-a") }},
		{"create forbidden", func() error { return ours.CreateKey(ctx, "my-key-1") }, func() error { return ref.CreateKey(ctx, "my-key-1") }},
		{"generate", func() (err error) { _, ourCT, err = ours.GenerateKey(ctx, "minio-a", []byte("x")); return err }, func() (err error) { dek, err = ref.GenerateKey(ctx, "minio-a", []byte("x")); return err }},
		{"decrypt other's", func() error { _, err := ours.Decrypt(ctx, "minio-a", dek.Ciphertext, []byte("x")); return err }, func() error { _, err := ref.Decrypt(ctx, "minio-a", ourCT, []byte("x")); return err }},
		{"decrypt wrong context", func() error { _, err := ours.Decrypt(ctx, "minio-a", dek.Ciphertext, nil); return err }, func() error { _, err := ref.Decrypt(ctx, "minio-a", ourCT, nil); return err }},
		{"decrypt garbage", func() error { _, err := ours.Decrypt(ctx, "minio-a", []byte("short"), nil); return err }, func() error { _, err := ref.Decrypt(ctx, "minio-a", []byte("short"), nil); return err }},
		{"generate missing", func() error { _, _, err := ours.GenerateKey(ctx, "minio-z", nil); return err }, func() error { _, err := ref.GenerateKey(ctx, "minio-z", nil); return err }},
		{"describe forbidden", func() error { _, err := ours.DescribeKey(ctx, "minio-a"); return err }, func() error { _, err := ref.DescribeKey(ctx, "minio-a"); return err }},
		{"admin describe missing", func() error { _, err := oursAdmin.DescribeKey(ctx, "nope"); return err }, func() error { _, err := refAdmin.DescribeKey(ctx, "nope"); return err }},
		{"admin import", func() error { return oursAdmin.ImportKey(ctx, "imp-a", make([]byte, 32), kesclient.AES256) }, func() error {
			return refAdmin.ImportKey(ctx, "imp-b", &kes.ImportKeyRequest{Key: make([]byte, 32), Cipher: kes.AES256})
		}},
		{"admin import existing", func() error { return oursAdmin.ImportKey(ctx, "imp-b", make([]byte, 32), kesclient.AES256) }, func() error {
			return refAdmin.ImportKey(ctx, "imp-a", &kes.ImportKeyRequest{Key: make([]byte, 32), Cipher: kes.AES256})
		}},
	} {
		t.Run(p.name, func(t *testing.T) {
			errOurs, errRef := p.ours(), p.ref()
			if (errOurs == nil) != (errRef == nil) {
				t.Fatalf("ours %v, reference %v", errOurs, errRef)
			}
			for _, s := range sentinelPairs {
				if a, b := errors.Is(errOurs, s.ours), errors.Is(errRef, s.ref); a != b {
					t.Errorf("%s: ours %v, reference %v (%v / %v)", s.name, a, b, errOurs, errRef)
				}
			}
			var oe *kesclient.Error
			var re kes.Error
			if errors.As(errOurs, &oe) != errors.As(errRef, &re) || (oe != nil && (oe.Status != re.Status() || oe.Message != re.Error())) {
				t.Errorf("errors differ: ours %#v, reference %#v", errOurs, errRef)
			}
		})
	}
	if p, err := ours.Decrypt(ctx, "minio-a", dek.Ciphertext, []byte("x")); err != nil || !bytes.Equal(p, dek.Plaintext) {
		t.Fatalf("our client decrypting the reference DEK: %v", err)
	}
}
