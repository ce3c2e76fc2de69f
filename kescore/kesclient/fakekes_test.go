package kesclient_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeKES is a small stand-in for a KES server used where the real kescore
// server cannot produce a condition (injected 5xx, paging, legacy bodies).
// It speaks the wire facts of kes-api.md: paths, JSON fields, status codes
// and messages. Its crypto is simplified (AES-GCM with the master key).
type fakeKES struct {
	t     testing.TB
	srv   *httptest.Server
	admin string // admin identity

	mu       sync.Mutex
	keys     map[string][]byte
	policies map[string][]string // identity -> allowed path prefixes
	requests []recorded
	// inject, when set, may answer a request instead of the fake.
	inject func(w http.ResponseWriter, r *http.Request) bool
	// pageSize > 0 makes list answer in pages with continue_at.
	pageSize int
}

type recorded struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Type   string `json:"content_type,omitempty"`
	Body   string `json:"body,omitempty"`
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func identityOf(c *x509.Certificate) string {
	h := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(h[:])
}

// newFakeKES starts the fake over mTLS (client certificate required, chain
// not verified, as KES by default); admin is the admin's certificate.
func newFakeKES(t testing.TB, admin tls.Certificate) *fakeKES {
	t.Helper()
	f := &fakeKES{t: t, keys: map[string][]byte{}, policies: map[string][]string{}}
	f.admin = identityOf(admin.Leaf)
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS12}
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKES) rootCAs() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(f.srv.Certificate())
	return p
}

func (f *fakeKES) allow(identity string, prefixes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policies[identity] = prefixes
}

func (f *fakeKES) recorded() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeKES) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	f.mu.Lock()
	f.requests = append(f.requests, recorded{Method: r.Method, Path: r.URL.EscapedPath(), Type: r.Header.Get("Content-Type"), Body: string(body)})
	inject := f.inject
	f.mu.Unlock()
	if inject != nil && inject(w, r) {
		return
	}
	if r.URL.Path == "/version" {
		_ = json.NewEncoder(w).Encode(map[string]string{"version": "fake-1", "commit": "abc"})
		return
	}
	id := identityOf(r.TLS.PeerCertificates[0])
	if r.URL.Path == "/v1/identity/self/describe" {
		f.describeSelf(w, id)
		return
	}
	if !f.allowed(id, r.URL.Path) {
		jsonError(w, http.StatusForbidden, "not authorized: insufficient permissions")
		return
	}
	api, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	if strings.HasPrefix(api, "key") {
		op, n, _ := strings.Cut(name, "/")
		api, name = "key/"+op, n
	}
	switch api {
	case "status":
		_ = json.NewEncoder(w).Encode(map[string]any{"version": "fake-1", "os": "linux", "arch": "amd64", "uptime": 42, "num_cpu": 2, "num_cpu_used": 2, "mem_heap_used": 1000, "mem_stack_used": 100, "keystore_latency": 3})
	case "ready":
		w.WriteHeader(http.StatusOK)
	case "key/create":
		f.create(w, name, nil)
	case "key/import":
		var req struct {
			Key    []byte `json:"key"`
			Cipher string `json:"cipher"`
		}
		if json.Unmarshal(body, &req) != nil {
			jsonError(w, http.StatusBadRequest, "invalid import key request body")
			return
		}
		if len(req.Key) != 32 || !slices.Contains([]string{"AES256", "AES256-GCM_SHA256", "ChaCha20", "XCHACHA20-POLY1305"}, req.Cipher) {
			jsonError(w, http.StatusNotAcceptable, "invalid key size or cipher")
			return
		}
		f.create(w, name, req.Key)
	case "key/describe":
		if _, ok := f.key(name); !ok {
			jsonError(w, http.StatusNotFound, "key does not exist")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"name": name, "algorithm": "AES256", "created_at": "2026-01-02T03:04:05Z", "created_by": f.admin})
	case "key/list":
		f.list(w, name)
	case "key/delete":
		f.mu.Lock()
		delete(f.keys, name)
		f.mu.Unlock()
	case "key/generate", "key/encrypt", "key/decrypt", "key/hmac":
		f.crypt(w, api, name, body)
	default:
		jsonError(w, http.StatusNotFound, "not found")
	}
}

func (f *fakeKES) allowed(id, path string) bool {
	if id == f.admin {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.policies[id] {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func (f *fakeKES) describeSelf(w http.ResponseWriter, id string) {
	if id == f.admin {
		_ = json.NewEncoder(w).Encode(map[string]any{"identity": id, "admin": true, "created_at": "2026-01-02T03:04:05Z"})
		return
	}
	f.mu.Lock()
	allow := map[string]struct{}{}
	for _, p := range f.policies[id] {
		allow[p+"*"] = struct{}{}
	}
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"identity": id, "policy": "minio", "allow": allow, "created_at": "2026-01-02T03:04:05Z", "created_by": f.admin})
}

func (f *fakeKES) key(name string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[name]
	return k, ok
}

func (f *fakeKES) create(w http.ResponseWriter, name string, key []byte) {
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.keys[name]; ok {
		jsonError(w, http.StatusBadRequest, "key already exists")
		return
	}
	f.keys[name] = key
}

func (f *fakeKES) list(w http.ResponseWriter, pattern string) {
	prefix := strings.TrimSuffix(pattern, "*")
	f.mu.Lock()
	size := f.pageSize
	var names []string
	for n := range f.keys {
		// In paging mode the pattern is a cursor: the listing starts at it.
		if (size == 0 && strings.HasPrefix(n, prefix)) || (size > 0 && n >= prefix) {
			names = append(names, n)
		}
	}
	f.mu.Unlock()
	slices.Sort(names)
	resp := map[string]any{"names": names}
	if size > 0 && len(names) > size {
		resp["names"], resp["continue_at"] = names[:size], names[size]
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeKES) crypt(w http.ResponseWriter, api, name string, body []byte) {
	key, ok := f.key(name)
	if !ok {
		jsonError(w, http.StatusNotFound, "key does not exist")
		return
	}
	var req struct {
		Plaintext  []byte `json:"plaintext"`
		Ciphertext []byte `json:"ciphertext"`
		Context    []byte `json:"context"`
		Message    []byte `json:"message"`
	}
	if len(body) > 0 && json.Unmarshal(body, &req) != nil {
		jsonError(w, http.StatusBadRequest, "invalid request body")
		return
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	seal := func(p []byte) []byte {
		nonce := make([]byte, gcm.NonceSize())
		_, _ = rand.Read(nonce)
		return append(gcm.Seal(nil, nonce, p, req.Context), nonce...)
	}
	switch api {
	case "key/generate":
		dek := make([]byte, 32)
		_, _ = rand.Read(dek)
		_ = json.NewEncoder(w).Encode(map[string][]byte{"plaintext": dek, "ciphertext": seal(dek)})
	case "key/encrypt":
		_ = json.NewEncoder(w).Encode(map[string][]byte{"ciphertext": seal(req.Plaintext)})
	case "key/decrypt":
		c := req.Ciphertext
		if len(c) <= gcm.NonceSize()+gcm.Overhead() {
			jsonError(w, http.StatusBadRequest, "decryption failed: ciphertext is not authentic")
			return
		}
		n := len(c) - gcm.NonceSize()
		p, err := gcm.Open(nil, c[n:], c[:n], req.Context)
		if err != nil {
			jsonError(w, http.StatusBadRequest, "decryption failed: ciphertext is not authentic")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string][]byte{"plaintext": p})
	case "key/hmac":
		m := hmac.New(sha256.New, key)
		m.Write(req.Message)
		_ = json.NewEncoder(w).Encode(map[string][]byte{"hmac": m.Sum(nil)})
	}
}

// newIdentity makes a self-signed client certificate as `kes identity new`.
func newIdentity(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}
}
