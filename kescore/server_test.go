package kescore

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"testing"

	"github.com/minio/kms-go/kes"
)

// TestGuideStep43 is step 4.3 of MinIO's KMS guide: the MinIO identity,
// under policy minio, may create minio-* keys and no others.
func TestGuideStep43(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(e.minio)
	if err := c.CreateKey(ctx(t), "minio-key-1"); err != nil {
		t.Fatalf("create minio-key-1: %v", err)
	}
	if err := c.CreateKey(ctx(t), "my-key-1"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Fatalf("create my-key-1: got %v, want ErrNotAllowed", err)
	}
	dek, err := c.GenerateKey(ctx(t), "minio-key-1", []byte(`{"bucket":"obj"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(dek.Plaintext) != 32 || len(dek.Ciphertext) != 76 {
		t.Fatalf("dek sizes %d/%d", len(dek.Plaintext), len(dek.Ciphertext))
	}
	p, err := c.Decrypt(ctx(t), "minio-key-1", dek.Ciphertext, []byte(`{"bucket":"obj"}`))
	if err != nil || !bytes.Equal(p, dek.Plaintext) {
		t.Fatalf("decrypt: %v", err)
	}
	// Not in the policy: describe, delete, list, status.
	if _, err := c.DescribeKey(ctx(t), "minio-key-1"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Fatalf("describe: got %v", err)
	}
	if err := c.DeleteKey(ctx(t), "minio-key-1"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Fatalf("delete: got %v", err)
	}
	if _, ok := e.store.keys["minio-key-1"]; !ok {
		t.Fatal("key lost after refused delete")
	}
	if _, ok := e.store.keys["my-key-1"]; ok {
		t.Fatal("refused key was stored")
	}
}

func TestKeyLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(e.admin)
	if err := c.CreateKey(ctx(t), "my-key"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateKey(ctx(t), "my-key"); !errors.Is(err, kes.ErrKeyExists) {
		t.Fatalf("duplicate: got %v", err)
	}
	info, err := c.DescribeKey(ctx(t), "my-key")
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "my-key" || info.CreatedBy.String() != e.admin.id || info.CreatedAt.IsZero() {
		t.Fatalf("describe: %+v", info)
	}
	if _, err := c.DescribeKey(ctx(t), "missing"); !errors.Is(err, kes.ErrKeyNotFound) {
		t.Fatalf("describe missing: %v", err)
	}
	if _, err := c.GenerateKey(ctx(t), "missing", nil); !errors.Is(err, kes.ErrKeyNotFound) {
		t.Fatalf("generate missing: %v", err)
	}

	assoc := []byte("context")
	dek, err := c.GenerateKey(ctx(t), "my-key", assoc)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.Decrypt(ctx(t), "my-key", dek.Ciphertext, assoc); err != nil || !bytes.Equal(p, dek.Plaintext) {
		t.Fatalf("decrypt: %v", err)
	}
	if _, err := c.Decrypt(ctx(t), "my-key", dek.Ciphertext, []byte("other")); !errors.Is(err, kes.ErrDecrypt) {
		t.Fatalf("wrong context: %v", err)
	}
	if _, err := c.Decrypt(ctx(t), "my-key", dek.Ciphertext, nil); !errors.Is(err, kes.ErrDecrypt) {
		t.Fatalf("missing context: %v", err)
	}
	tampered := bytes.Clone(dek.Ciphertext)
	tampered[3] ^= 0x80
	if _, err := c.Decrypt(ctx(t), "my-key", tampered, assoc); !errors.Is(err, kes.ErrDecrypt) {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := c.Decrypt(ctx(t), "my-key", dek.Ciphertext[:20], assoc); !errors.Is(err, kes.ErrDecrypt) {
		t.Fatalf("truncated: %v", err)
	}

	ct, err := c.Encrypt(ctx(t), "my-key", []byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.Decrypt(ctx(t), "my-key", ct, nil); err != nil || string(p) != "hello" {
		t.Fatalf("encrypt/decrypt: %q %v", p, err)
	}

	sum1, err := c.HMAC(ctx(t), "my-key", []byte("msg"))
	if err != nil || len(sum1) != 32 {
		t.Fatalf("hmac: %v", err)
	}
	sum2, _ := c.HMAC(ctx(t), "my-key", []byte("msg"))
	sum3, _ := c.HMAC(ctx(t), "my-key", []byte("msh"))
	if !bytes.Equal(sum1, sum2) || bytes.Equal(sum1, sum3) {
		t.Fatal("hmac not deterministic per message")
	}

	if err := c.CreateKey(ctx(t), "my-other"); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateKey(ctx(t), "zzz"); err != nil {
		t.Fatal(err)
	}
	for pattern, want := range map[string][]string{
		"":      {"my-key", "my-other", "zzz"},
		"*":     {"my-key", "my-other", "zzz"},
		"my-*":  {"my-key", "my-other"},
		"nope*": {},
	} {
		names, next, err := c.ListKeys(ctx(t), pattern, 0)
		if err != nil || next != "" {
			t.Fatalf("list %q: %v %q", pattern, err, next)
		}
		if !slices.Equal(names, want) && !(len(names) == 0 && len(want) == 0) {
			t.Fatalf("list %q: %v, want %v", pattern, names, want)
		}
	}

	if err := c.DeleteKey(ctx(t), "my-key"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GenerateKey(ctx(t), "my-key", nil); !errors.Is(err, kes.ErrKeyNotFound) {
		t.Fatalf("generate deleted: %v", err)
	}
	// Deleting a key that does not exist succeeds, as in KES (the store
	// reports ErrKeyNotFound; the API answers 200).
	if err := c.DeleteKey(ctx(t), "my-key"); err != nil {
		t.Fatalf("delete deleted: %v, want success as KES answers", err)
	}
	if _, err := c.DescribeKey(ctx(t), "my-key"); !errors.Is(err, kes.ErrKeyNotFound) {
		t.Fatalf("describe after deleting a missing key: %v", err)
	}
}

// TestImportAndRealVectors imports the all-zero key of KES's published
// vectors and decrypts real KES ciphertexts through the API.
func TestImportAndRealVectors(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(e.admin)
	zero := make([]byte, 32)
	if err := c.ImportKey(ctx(t), "kes-aes", &kes.ImportKeyRequest{Key: zero, Cipher: kes.AES256}); err != nil {
		t.Fatal(err)
	}
	if err := c.ImportKey(ctx(t), "kes-chacha", &kes.ImportKeyRequest{Key: zero, Cipher: kes.ChaCha20}); err != nil {
		t.Fatal(err)
	}
	if err := c.ImportKey(ctx(t), "kes-aes", &kes.ImportKeyRequest{Key: zero, Cipher: kes.AES256}); !errors.Is(err, kes.ErrKeyExists) {
		t.Fatalf("import duplicate: %v", err)
	}
	info, err := c.DescribeKey(ctx(t), "kes-chacha")
	if err != nil || info.Algorithm != kes.ChaCha20 {
		t.Fatalf("describe chacha: %+v %v", info, err)
	}
	vectors := map[string]string{
		"kes-aes":    "zwdDgHeRlIFRnJ7+DIhs/ka7GFK2CFSfDELqg1VCyTQzZ58o7MAdupMLk3ZjlMo2ZUDwldL2o41nAWDc",
		"kes-chacha": "lbJYQ0hBQ0hBMjAtUE9MWTEzMDXZIDY2Njg3YWFkZjg2MmJkNzc2YzhmYzE4YjhlOWY4ZTIwxBBAr+aptD4x2+qfOhiErbnkxAxYs8RmNC1JJXD1hiHEIJ2KqM0jjkME7ndx8nyVseesN83Np0rM5ejVUun+fNFu",
	}
	for key, ct := range vectors {
		raw, _ := base64.StdEncoding.DecodeString(ct)
		p, err := c.Decrypt(ctx(t), key, raw, nil)
		if err != nil || !bytes.Equal(p, make([]byte, 16)) {
			t.Fatalf("%s: %x %v", key, p, err)
		}
	}
	// A record in the store written by real KES is read as is.
	e.store.keys["from-kes"] = []byte(realRecord)
	info, err = c.DescribeKey(ctx(t), "from-kes")
	if err != nil || info.CreatedBy.String() != "3ecfcdf38fcbe141ae26a1030f81e96b753365a46760ae6b578698a97c59fd22" {
		t.Fatalf("describe real record: %+v %v", info, err)
	}
	// What kescore stores parses as KES's record with the same key.
	k, err := parseRecord(e.store.keys["kes-aes"])
	if err != nil || k.key != [32]byte{} || k.typ != typeAES256 || len(k.hmacKey) != 32 {
		t.Fatalf("stored record: %+v %v", k, err)
	}
}

func TestUnknownIdentity(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(e.other)
	if err := c.CreateKey(ctx(t), "minio-key-1"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Fatalf("create: %v", err)
	}
	if _, err := c.Status(ctx(t)); !errors.Is(err, kes.ErrNotAllowed) {
		t.Fatalf("status: %v", err)
	}
	if _, _, err := c.DescribeSelf(ctx(t)); !errors.Is(err, kes.ErrIdentityNotFound) {
		t.Fatalf("self: %v", err)
	}
	if len(e.store.keys) != 0 {
		t.Fatal("unknown identity created a key")
	}
}

func TestAdminDisabled(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Admin = "disabled" })
	if err := e.client(e.admin).CreateKey(ctx(t), "k"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Fatalf("disabled admin: %v", err)
	}
	if err := e.client(e.minio).CreateKey(ctx(t), "minio-k"); err != nil {
		t.Fatalf("policy member: %v", err)
	}
}

func TestPolicyAndIdentityAPIs(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Policies["ops"] = Policy{Allow: []string{"/v1/*"}, Deny: []string{"/v1/key/delete/*"}, Identities: []string{newIdentity(t, otherSeed, "other").id}}
	})
	c := e.client(e.admin)
	names, _, err := c.ListPolicies(ctx(t), "", 0)
	if err != nil || !slices.Equal(names, []string{"minio", "ops"}) {
		t.Fatalf("list policies: %v %v", names, err)
	}
	pol, err := c.GetPolicy(ctx(t), "minio")
	if err != nil || len(pol.Allow) != 3 || len(pol.Deny) != 0 || pol.CreatedBy.String() != e.admin.id {
		t.Fatalf("get policy: %+v %v", pol, err)
	}
	if _, ok := pol.Allow["/v1/key/create/minio-*"]; !ok {
		t.Fatalf("allow rules: %v", pol.Allow)
	}
	pinfo, err := c.DescribePolicy(ctx(t), "ops")
	if err != nil || pinfo.Name != "ops" {
		t.Fatalf("describe policy: %+v %v", pinfo, err)
	}
	if _, err := c.DescribePolicy(ctx(t), "nope"); !errors.Is(err, kes.ErrPolicyNotFound) {
		t.Fatalf("missing policy: %v", err)
	}
	id, err := c.DescribeIdentity(ctx(t), kes.Identity(e.minio.id))
	if err != nil || id.Policy != "minio" || id.IsAdmin {
		t.Fatalf("describe identity: %+v %v", id, err)
	}
	id, err = c.DescribeIdentity(ctx(t), kes.Identity(e.admin.id))
	if err != nil || !id.IsAdmin {
		t.Fatalf("describe admin: %+v %v", id, err)
	}
	if _, err := c.DescribeIdentity(ctx(t), "ffff"); !errors.Is(err, kes.ErrIdentityNotFound) {
		t.Fatalf("missing identity: %v", err)
	}
	ids, _, err := c.ListIdentities(ctx(t), "", 0)
	if err != nil || len(ids) != 3 {
		t.Fatalf("list identities: %v %v", ids, err)
	}
	self, spol, err := e.client(e.minio).DescribeSelf(ctx(t))
	if err != nil || self.Identity.String() != e.minio.id || self.Policy != "minio" || len(spol.Allow) != 3 {
		t.Fatalf("self: %+v %+v %v", self, spol, err)
	}
	self, _, err = c.DescribeSelf(ctx(t))
	if err != nil || !self.IsAdmin {
		t.Fatalf("self admin: %+v %v", self, err)
	}
	// Deny beats allow.
	oc := e.client(e.other)
	if err := oc.CreateKey(ctx(t), "x"); err != nil {
		t.Fatalf("ops create: %v", err)
	}
	if err := oc.DeleteKey(ctx(t), "x"); !errors.Is(err, kes.ErrNotAllowed) {
		t.Fatalf("ops delete: %v", err)
	}
}

func TestSystemAPIs(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(e.admin)
	v, err := c.Version(ctx(t))
	if err != nil || v != "2025-03-12T09-35-18Z" {
		t.Fatalf("version: %q %v", v, err)
	}
	ready, err := c.IsReady(ctx(t))
	if err != nil || !ready {
		t.Fatalf("ready: %v %v", ready, err)
	}
	st, err := c.Status(ctx(t))
	if err != nil || !st.KeyStoreReachable || !st.KeystoreAvailable || st.KeyStoreLatency <= 0 || st.CPUs <= 0 {
		t.Fatalf("status: %+v %v", st, err)
	}
	apis, err := c.APIs(ctx(t))
	if err != nil || len(apis) != len(e.srv.table) {
		t.Fatalf("apis: %v %v", apis, err)
	}
	m, err := c.Metrics(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if m.RequestOK < 4 || m.CPUs <= 0 || m.RequestActive != 1 || len(m.LatencyHistogram) == 0 || m.AuditEvents < 4 {
		t.Fatalf("metrics: %+v", m)
	}
}
