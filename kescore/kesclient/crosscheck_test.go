package kesclient_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net/http"
	"testing"

	"github.com/minio/kms-go/kes"

	"github.com/kmsbox/kmsbox/kescore/kesclient"
)

// sentinelPairs pairs this package's sentinels with the reference client's.
var sentinelPairs = []struct {
	name string
	ours error
	ref  error
}{
	{"ErrKeyExists", kesclient.ErrKeyExists, kes.ErrKeyExists},
	{"ErrKeyNotFound", kesclient.ErrKeyNotFound, kes.ErrKeyNotFound},
	{"ErrNotAllowed", kesclient.ErrNotAllowed, kes.ErrNotAllowed},
	{"ErrDecrypt", kesclient.ErrDecrypt, kes.ErrDecrypt},
	{"ErrPolicyNotFound", kesclient.ErrPolicyNotFound, kes.ErrPolicyNotFound},
	{"ErrIdentityNotFound", kesclient.ErrIdentityNotFound, kes.ErrIdentityNotFound},
}

func refClient(f *fakeKES, cert tls.Certificate) *kes.Client {
	return kes.NewClientWithConfig(f.srv.URL, &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: f.rootCAs()})
}

// TestCrossCheckErrors sends the same error answers to both clients: the
// status, the message and every sentinel match must agree.
func TestCrossCheckErrors(t *testing.T) {
	admin := newIdentity(t, "admin")
	f := newFakeKES(t, admin)
	ours, ref := newClient(t, admin, f), refClient(f, admin)

	for _, tc := range []struct {
		name   string
		status int
		ctype  string
		body   string
	}{
		{"exists", 400, "application/json", `{"message":"key already exists"}`},
		{"exists v0.7", 400, "application/json", `{"message":"key does already exist"}`},
		{"not found", 404, "application/json", `{"message":"key does not exist"}`},
		{"not allowed", 403, "application/json", `{"message":"not authorized: insufficient permissions"}`},
		{"prohibited v0.7", 403, "application/json", `{"message":"prohibited by policy"}`},
		{"error field", 403, "application/json", `{"error":"prohibited by policy"}`},
		{"decrypt", 400, "application/json", `{"message":"decryption failed: ciphertext is not authentic"}`},
		{"policy", 404, "application/json", `{"message":"policy does not exist"}`},
		{"identity", 404, "application/json", `{"message":"identity does not exist"}`},
		{"plain text", 404, "text/plain", `key does not exist`},
		{"other 400", 400, "application/json", `{"message":"invalid request body"}`},
		{"wrong status", 409, "application/json", `{"message":"key already exists"}`},
		{"502", 502, "application/json", `{"message":"failed to create key"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.inject = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
				return true
			}
			errOurs := ours.CreateKey(t.Context(), "k")
			errRef := ref.CreateKey(t.Context(), "k")
			var refErr kes.Error
			if !errors.As(errRef, &refErr) {
				t.Fatalf("reference client: %v", errRef)
			}
			var ourErr *kesclient.Error
			if !errors.As(errOurs, &ourErr) {
				t.Fatalf("our client: %v", errOurs)
			}
			if ourErr.Status != refErr.Status() {
				t.Errorf("status %d, reference %d", ourErr.Status, refErr.Status())
			}
			// The reference client rewrites legacy messages to the current
			// ones; ours keeps the server's words, so compare via sentinels.
			for _, p := range sentinelPairs {
				if a, b := errors.Is(errOurs, p.ours), errors.Is(errRef, p.ref); a != b {
					t.Errorf("%s: ours %v, reference %v (%q / %q)", p.name, a, b, errOurs, errRef)
				}
			}
		})
	}
}

// TestCrossCheckOperations uses both clients on one server: keys made by
// one are used by the other, and both see the same errors.
func TestCrossCheckOperations(t *testing.T) {
	ctx := t.Context()
	admin := newIdentity(t, "admin")
	f := newFakeKES(t, admin)
	ours, ref := newClient(t, admin, f), refClient(f, admin)

	if err := ref.CreateKey(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if err := ours.CreateKey(ctx, "shared"); !errors.Is(err, kesclient.ErrKeyExists) {
		t.Fatalf("ours: %v", err)
	}
	dek, err := ref.GenerateKey(ctx, "shared", []byte("ctx"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ours.Decrypt(ctx, "shared", dek.Ciphertext, []byte("ctx"))
	if err != nil || !bytes.Equal(p, dek.Plaintext) {
		t.Fatalf("ours decrypting reference DEK: %v", err)
	}
	plain, ct, err := ours.GenerateKey(ctx, "shared", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ref.Decrypt(ctx, "shared", ct, nil); err != nil || !bytes.Equal(p, plain) {
		t.Fatalf("reference decrypting our DEK: %v", err)
	}
	_, errRef := ref.Decrypt(ctx, "shared", ct, []byte("wrong"))
	_, errOurs := ours.Decrypt(ctx, "shared", ct, []byte("wrong"))
	if !errors.Is(errRef, kes.ErrDecrypt) || !errors.Is(errOurs, kesclient.ErrDecrypt) {
		t.Fatalf("wrong context: reference %v, ours %v", errRef, errOurs)
	}
	refInfo, err := ref.DescribeKey(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	ourInfo, err := ours.DescribeKey(ctx, "shared")
	if err != nil || ourInfo.Name != refInfo.Name || ourInfo.Algorithm != refInfo.Algorithm.String() || !ourInfo.CreatedAt.Equal(refInfo.CreatedAt) || ourInfo.CreatedBy != refInfo.CreatedBy.String() {
		t.Fatalf("describe: ours %+v, reference %+v (%v)", ourInfo, refInfo, err)
	}
	refMAC, err := ref.HMAC(ctx, "shared", []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	if mac, err := ours.HMAC(ctx, "shared", []byte("m")); err != nil || !bytes.Equal(mac, refMAC) {
		t.Fatalf("hmac differs: %v", err)
	}
	if err := ours.DeleteKey(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := ref.DescribeKey(ctx, "shared"); !errors.Is(err, kes.ErrKeyNotFound) {
		t.Fatalf("reference after our delete: %v", err)
	}
}
