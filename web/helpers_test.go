package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/internal/testutil"
)

const (
	testAccessKey = "kmsbox-admin"
	testSecretKey = "s3cr3t-Key/with+symbols=="
	failBucket    = "failing" // every call for it fails with errDiskOnFire
	specialKey    = `a b/<script>alert(1)</script>/ü?#%.txt`
)

var (
	errDiskOnFire = errors.New("s3: reading bucket metadata: disk on fire")
	t0            = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
)

// fakeSource is a Source over fixed data that records what it was asked for.
type fakeSource struct {
	mu         sync.Mutex
	status     Status
	statusErr  error
	objects    map[string][]Object // bucket -> objects in key order
	chains     map[string]Chain    // bucket + "/" + key -> chain, else built from the object
	lastBucket string
	lastKey    string
	lastPrefix string
	lastLimit  int
	failures   int  // errors returned that were not ErrNotFound
	deadline   bool // the last Objects call had a context deadline
}

var _ Source = (*fakeSource)(nil)

func (f *fakeSource) Status(ctx context.Context) (Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statusErr != nil {
		f.failures++
		return Status{}, f.statusErr
	}
	return f.status, ctx.Err()
}

func (f *fakeSource) Objects(ctx context.Context, bucket, prefix string, limit int) ([]Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastBucket, f.lastPrefix, f.lastLimit = bucket, prefix, limit
	_, f.deadline = ctx.Deadline()
	if bucket == failBucket {
		f.failures++
		return nil, errDiskOnFire
	}
	objs, ok := f.objects[bucket]
	if !ok {
		return nil, fmt.Errorf("bucket %q: %w", bucket, ErrNotFound)
	}
	var out []Object
	for _, o := range objs {
		if strings.HasPrefix(o.Key, prefix) && len(out) < limit {
			out = append(out, o)
		}
	}
	return out, ctx.Err()
}

func (f *fakeSource) Chain(ctx context.Context, bucket, key string) (Chain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastBucket, f.lastKey = bucket, key
	if bucket == failBucket {
		f.failures++
		return Chain{}, errDiskOnFire
	}
	if c, ok := f.chains[bucket+"/"+key]; ok {
		return c, nil
	}
	for _, o := range f.objects[bucket] {
		if o.Key == key {
			return okChain(o), ctx.Err()
		}
	}
	return Chain{}, fmt.Errorf("object %q/%q: %w", bucket, key, ErrNotFound)
}

func (f *fakeSource) asked() (bucket, key, prefix string, limit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastBucket, f.lastKey, f.lastPrefix, f.lastLimit
}

func (f *fakeSource) failed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failures
}

// object is the object bucket/key of the fixed data (the zero Object if there is none).
func (f *fakeSource) object(bucket, key string) Object {
	for _, o := range f.objects[bucket] {
		if o.Key == key {
			return o
		}
	}
	return Object{}
}

func (f *fakeSource) add(o Object) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[o.Bucket] = append(f.objects[o.Bucket], o)
	sort.Slice(f.objects[o.Bucket], func(i, j int) bool { return f.objects[o.Bucket][i].Key < f.objects[o.Bucket][j].Key })
}

var testVault = VaultStatus{
	URL: "https://127.0.0.1:8200", Initialized: true, Shares: 5, Threshold: 3,
	StorageFile: "/data/vault.db", Mount: "kes/",
}

// testVaultTransit is testVault with two Transit engines, as the overview gets it.
func testVaultTransit() VaultStatus {
	v := testVault
	v.Transit = []TransitMount{
		{Path: "other/"},
		{Path: "transit/", Keys: []TransitKey{
			{Name: "orders", Type: "aes256-gcm96", LatestVersion: 3},
			{Name: "transit-key-1", Type: "chacha20-poly1305", LatestVersion: 1},
		}},
	}
	return v
}

// okChain is a complete, healthy chain for o.
func okChain(o Object) Chain {
	c := Chain{Object: o, Format: "DARE 2.0, AES-256-GCM, 64 KiB packages"}
	switch o.Encryption {
	case "":
		c.Format = "plain"
		return c
	case "SSE-C":
		c.SealedObjectKey = strings.Repeat("c0ffee", 16)
		c.SealAlgorithm = "DARE-SHA256"
		return c
	}
	c.SealedObjectKey = strings.Repeat("5eed", 32)
	c.SealAlgorithm = "DARE-SHA256"
	c.DataKeyCiphertext = strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", 4)
	c.DataKeyContext = fmt.Sprintf(`{"%s":"%s/%s"}`, o.Bucket, o.Bucket, o.Key)
	c.DataKey = Check{OK: true}
	c.MasterKey = MasterKey{Name: o.KeyID, Location: "embedded vault, KV v1 kes/" + o.KeyID}
	c.MasterKeyCheck = Check{OK: true}
	c.Vault = testVault
	return c
}

const (
	sealedDataKeyErr   = "KES cannot decrypt the data key: the key store is unavailable (vault is sealed)"
	sealedMasterKeyErr = "The key server cannot read minio-default-key: vault is sealed"
)

func newFakeSource() *fakeSource {
	obj := func(bucket, key string, size int64, enc, keyID string, parts int) Object {
		return Object{Bucket: bucket, Key: key, Size: size, ModTime: t0, ETag: fmt.Sprintf("%x", len(key)*7919), Encryption: enc, KeyID: keyID, Parts: parts}
	}
	f := &fakeSource{
		status: Status{
			S3: S3Status{
				URL: "https://127.0.0.1:9000", Ready: Check{OK: true}, AutoEncrypt: true,
				KMS: "kmsbox KES (in-process)", DefaultKey: "minio-default-key",
				Buckets: []Bucket{
					{Name: "photos", Created: t0, Encryption: "SSE-S3"},
					{Name: "reports", Created: t0.Add(time.Hour), Encryption: "SSE-KMS", KeyID: "minio-key-1"},
				},
			},
			KES: KESStatus{
				URL: "https://127.0.0.1:7373", Ready: Check{OK: true},
				Keys: []MasterKey{
					{Name: "minio-default-key", Location: "embedded vault, KV v1 kes/minio-default-key"},
					{Name: "minio-key-1", Location: "embedded vault, KV v1 kes/minio-key-1"},
				},
			},
			Vault: testVaultTransit(),
		},
		objects: map[string][]Object{"reports": nil},
		chains:  map[string]Chain{},
	}
	for _, o := range []Object{
		obj("photos", "2024/a.jpg", 1234567, "SSE-S3", "minio-default-key", 0),
		obj("photos", "2024/b.jpg", 99, "SSE-KMS", "minio-key-1", 0),
		obj("photos", "2025/big.iso", 5<<30, "SSE-S3", "minio-default-key", 3),
		obj("photos", "plain.txt", 12, "", "", 0),
		obj("photos", "sealed.txt", 2048, "SSE-S3", "minio-default-key", 0),
		obj("photos", "sse-s3.txt", 4096, "SSE-S3", "minio-default-key", 0),
		obj("photos", "ssec.bin", 65536, "SSE-C", "", 0),
		obj("photos", specialKey, 7, "SSE-S3", "minio-default-key", 0),
	} {
		f.add(o)
	}
	sealed := okChain(f.object("photos", "sealed.txt"))
	sealed.DataKey = Check{Err: sealedDataKeyErr}
	sealed.MasterKeyCheck = Check{Err: sealedMasterKeyErr}
	sealed.Vault.Sealed = true
	f.chains["photos/sealed.txt"] = sealed
	return f
}

// testConsole is a Server behind a real TLS listener, with a client that keeps cookies
// and does not follow redirects.
type testConsole struct {
	t      *testing.T
	src    *fakeSource
	srv    *Server
	ts     *httptest.Server
	client *http.Client
	logs   *testutil.SyncBuffer
	clock  *testutil.Clock
}

func newTestConsole(t *testing.T, ttl time.Duration) *testConsole {
	t.Helper()
	tc := &testConsole{t: t, src: newFakeSource(), logs: &testutil.SyncBuffer{}, clock: testutil.NewClock(t0)}
	srv, err := New(Config{
		Source: tc.src, AccessKey: testAccessKey, SecretKey: testSecretKey, SessionTTL: ttl,
		Logger: slog.New(slog.NewTextHandler(tc.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    tc.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	tc.srv = srv
	tc.ts = httptest.NewUnstartedServer(srv.Handler())
	tc.ts.StartTLS()
	t.Cleanup(func() {
		tc.ts.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if logs := tc.logs.String(); strings.Contains(logs, testSecretKey) {
			t.Errorf("the log holds the secret key:\n%s", logs)
		}
	})
	tc.client = tc.newClient()
	return tc
}

func (tc *testConsole) newClient() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		tc.t.Fatal(err)
	}
	c := *tc.ts.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (tc *testConsole) now() time.Time { return tc.clock.Now() }

func (tc *testConsole) advance(d time.Duration) { tc.clock.Advance(d) }

// response is a finished HTTP exchange.
type response struct {
	*http.Response
	body string
}

// do sends a request with the client's cookies; path may hold an escaped path and query.
func (tc *testConsole) do(c *http.Client, method, path string, form url.Values, header http.Header) response {
	tc.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, tc.ts.URL+path, body)
	if err != nil {
		tc.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		tc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tc.t.Fatal(err)
	}
	return response{resp, string(b)}
}

func (tc *testConsole) get(path string) response {
	tc.t.Helper()
	return tc.do(tc.client, http.MethodGet, path, nil, nil)
}

func (tc *testConsole) postForm(path string, form url.Values) response {
	tc.t.Helper()
	return tc.do(tc.client, http.MethodPost, path, form, nil)
}

// login logs the client in and checks the answer.
func (tc *testConsole) login() {
	tc.t.Helper()
	r := tc.postForm("/login", url.Values{"accessKey": {testAccessKey}, "secretKey": {testSecretKey}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		tc.t.Fatalf("login: %d Location %q, want 303 to /\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
}

// len is the number of sessions held, expired or not.
func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.expires)
}

// cookie is the client's session cookie, "" without one.
func (tc *testConsole) cookie() string {
	u, _ := url.Parse(tc.ts.URL)
	for _, c := range tc.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL, r.StatusCode, status, r.body)
	}
}

func wantContains(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q", s)
		}
	}
	if t.Failed() {
		t.Logf("body:\n%s", body)
	}
}

func wantAbsent(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Errorf("body holds %q", s)
		}
	}
}

// linkClass is the class attribute of the chain box with id, "" when there is none.
func linkClass(body, id string) string {
	m := regexp.MustCompile(`<section class="([^"]*)" id="` + regexp.QuoteMeta(id) + `"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}
