package vaultstore

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/kescore"
	"github.com/kmsbox/kmsbox/kescore/kesclient"
)

// TestKescoreOverVault runs the whole chain of the guide: a KES client over
// mTLS to kescore, whose keys live in the embedded vault through this store.
func TestKescoreOverVault(t *testing.T) {
	v := startVault(t)
	store := v.connect(t, Config{Engine: "kv", AppRole: v.appRole(t, "kes-role", "5m", "minio-key-policy")})

	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "admin"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	must(t, err)
	leaf, err := x509.ParseCertificate(der)
	must(t, err)
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)

	k, err := kescore.Open(context.Background(), kescore.Config{
		Store:  store,
		Admin:  hex.EncodeToString(sum[:]),
		Cache:  kescore.CacheConfig{Expiry: -1, ExpiryUnused: -1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	must(t, err)
	srv := httptest.NewUnstartedServer(k.Handler())
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(func() { srv.Close(); must(t, k.Close()) })

	c, err := kesclient.New(kesclient.Config{
		Endpoints: []string{srv.URL},
		TLS:       kesclient.InsecureTLS(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}),
		Retries:   -1,
	})
	must(t, err)
	ctx := t.Context()

	must(t, c.CreateKey(ctx, "minio-key-1"))
	if err := c.CreateKey(ctx, "minio-key-1"); !errors.Is(err, kesclient.ErrKeyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	plain, ct, err := c.GenerateKey(ctx, "minio-key-1", []byte("ctx"))
	must(t, err)

	// The key record sits in Vault where and as real KES keeps it: one
	// field named after the key holding base64 text.
	sec, err := v.root.Logical().ReadWithContext(ctx, "kv/minio/minio-key-1")
	must(t, err)
	rec, ok := sec.Data["minio-key-1"].(string)
	if !ok || len(sec.Data) != 1 {
		t.Fatalf("vault entry %+v", sec.Data)
	}
	if _, err := base64.StdEncoding.DecodeString(rec); err != nil {
		t.Fatalf("record is not base64: %v", err)
	}
	names, err := c.ListKeys(ctx, "")
	if err != nil || len(names) != 1 || names[0] != "minio-key-1" {
		t.Fatalf("list: %v %v", names, err)
	}

	// Sealed vault: kescore is not ready and key operations fail as
	// unavailable; after the unseal they work again.
	must(t, v.root.Sys().SealWithContext(ctx))
	if err := c.Ready(ctx); !kesclient.IsUnavailable(err) {
		t.Fatalf("ready while sealed: %v", err)
	}
	if _, err := c.Decrypt(ctx, "minio-key-1", ct, []byte("ctx")); !kesclient.IsUnavailable(err) {
		t.Fatalf("decrypt while sealed: %v", err)
	}
	if st, err := v.root.Sys().UnsealWithContext(ctx, v.unseal); err != nil || st.Sealed {
		t.Fatalf("unseal: %v", err)
	}
	got, err := c.Decrypt(ctx, "minio-key-1", ct, []byte("ctx"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("decrypt after unseal: %v", err)
	}
	must(t, c.DeleteKey(ctx, "minio-key-1"))
	if _, err := c.DescribeKey(ctx, "minio-key-1"); !errors.Is(err, kesclient.ErrKeyNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if sec, err := v.root.Logical().ReadWithContext(ctx, "kv/minio/minio-key-1"); err != nil || sec != nil {
		t.Fatalf("vault entry after delete: %+v %v", sec, err)
	}
}
