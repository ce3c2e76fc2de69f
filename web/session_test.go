package web

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	src := newFakeSource()
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // every one must be in the error; none means valid
	}{
		{"valid", Config{Source: src, AccessKey: "a", SecretKey: "s"}, nil},
		{"empty", Config{}, []string{"Source is required", "AccessKey is required", "SecretKey is required"}},
		{"negative ttl", Config{Source: src, AccessKey: "a", SecretKey: "s", SessionTTL: -time.Second}, []string{"SessionTTL -1s is negative"}},
		{"no secret", Config{Source: src, AccessKey: "a"}, []string{"SecretKey is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			_, newErr := New(tc.cfg)
			if len(tc.want) == 0 {
				if err != nil || newErr != nil {
					t.Fatalf("Validate: %v, New: %v", err, newErr)
				}
				return
			}
			if err == nil || newErr == nil {
				t.Fatalf("Validate: %v, New: %v; want errors", err, newErr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoginSuccess(t *testing.T) {
	tc := newTestConsole(t, 0)
	r := tc.get("/login")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `name="accessKey"`, `name="secretKey"`, `type="password"`, `id="login"`, `action="/login"`)
	wantAbsent(t, r.body, `id="logout"`, "Invalid login")

	r = tc.postForm("/login", url.Values{"accessKey": {testAccessKey}, "secretKey": {testSecretKey}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/" {
		t.Errorf("Location %q, want /", loc)
	}
	var c *http.Cookie
	for _, rc := range r.Cookies() {
		if rc.Name == sessionCookie {
			c = rc
		}
	}
	if c == nil {
		t.Fatalf("no %s cookie in %q", sessionCookie, r.Header.Values("Set-Cookie"))
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/", c)
	}
	if c.MaxAge != int(defaultSessionTTL/time.Second) {
		t.Errorf("cookie Max-Age %d, want %d", c.MaxAge, int(defaultSessionTTL/time.Second))
	}
	if raw, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil || len(raw) != 32 {
		t.Errorf("token %q: %d bytes, %v; want 32 bytes base64url", c.Value, len(raw), err)
	}
	if strings.Contains(tc.logs.String(), c.Value) {
		t.Error("the log holds the session token")
	}

	r = tc.get("/")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `id="logout"`, "kmsbox console")

	// A logged-in visit to the login page goes on.
	r = tc.get("/login")
	wantStatus(t, r, http.StatusSeeOther)

	// A second login gets a new token.
	old := tc.cookie()
	tc.login()
	if tc.cookie() == old || tc.srv.sessions.len() != 1 {
		t.Errorf("second login: token changed %v, %d sessions; want a new token and the old one dropped", tc.cookie() != old, tc.srv.sessions.len())
	}
}

func TestLoginFailure(t *testing.T) {
	tc := newTestConsole(t, 0)
	for _, c := range []struct {
		name           string
		access, secret string
	}{
		{"wrong secret", testAccessKey, "wrong"},
		{"wrong access key", "admin", testSecretKey},
		{"both wrong", "admin", "admin"},
		{"empty", "", ""},
		{"secret prefix", testAccessKey, testSecretKey[:len(testSecretKey)-1]},
		{"secret longer", testAccessKey, testSecretKey + "x"},
		{"swapped", testSecretKey, testAccessKey},
		{"case", strings.ToUpper(testAccessKey), testSecretKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := tc.postForm("/login", url.Values{"accessKey": {c.access}, "secretKey": {c.secret}})
			wantStatus(t, r, http.StatusUnauthorized)
			wantContains(t, r.body, "Invalid login", `name="accessKey"`, `id="login"`)
			wantAbsent(t, r.body, "access key is wrong", "secret key is wrong", testSecretKey)
			if len(r.Header.Values("Set-Cookie")) != 0 || tc.cookie() != "" {
				t.Errorf("failed login set a cookie: %q", r.Header.Values("Set-Cookie"))
			}
			wantStatus(t, tc.get("/"), http.StatusSeeOther)
		})
	}
	if n := tc.srv.sessions.len(); n != 0 {
		t.Errorf("%d sessions after failed logins", n)
	}
	if !strings.Contains(tc.logs.String(), "console login failed") {
		t.Error("failed logins were not logged")
	}

	// A body over the route's limit is a bad form, not a login.
	r := tc.postForm("/login", url.Values{"accessKey": {testAccessKey}, "secretKey": {strings.Repeat("x", 20*kib)}})
	wantStatus(t, r, http.StatusBadRequest)
	wantContains(t, r.body, "Malformed form")
	// Right credentials padded past the limit: refused as a whole, no session.
	r = tc.postForm("/login", url.Values{"accessKey": {testAccessKey}, "secretKey": {testSecretKey}, "pad": {strings.Repeat("x", 16*kib)}})
	wantStatus(t, r, http.StatusBadRequest)
	if n := tc.srv.sessions.len(); n != 0 {
		t.Errorf("%d sessions after an over-limit login", n)
	}
}

func TestUnauthenticated(t *testing.T) {
	tc := newTestConsole(t, 0)
	for _, c := range []struct{ path, next string }{
		{"/", ""},
		{"/buckets/photos", "/buckets/photos"},
		{"/buckets/photos?prefix=2024%2F", "/buckets/photos?prefix=2024%2F"},
		{"/objects/photos/2024/a.jpg", "/objects/photos/2024/a.jpg"},
		{"/no/such/page", "/no/such/page"},
	} {
		r := tc.get(c.path)
		wantStatus(t, r, http.StatusSeeOther)
		want := "/login"
		if c.next != "" {
			want += "?next=" + url.QueryEscape(c.next)
		}
		if loc := r.Header.Get("Location"); loc != want {
			t.Errorf("GET %s: Location %q, want %q", c.path, loc, want)
		}
	}
	r := tc.postForm("/logout", url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/login" {
		t.Errorf("POST /logout: Location %q", loc)
	}

	for _, path := range []string{
		"/api/v1/status", "/api/v1/buckets/photos/objects?prefix=2024/",
		"/api/v1/chain/photos/2024/a.jpg", "/api/v1/nothing", "/api/",
	} {
		r := tc.get(path)
		wantStatus(t, r, http.StatusUnauthorized)
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		var e map[string]string
		if err := json.Unmarshal([]byte(r.body), &e); err != nil || e["error"] != "Not logged in" || len(e) != 1 {
			t.Errorf("GET %s: body %q (%v), want {\"error\":\"Not logged in\"}", path, r.body, err)
		}
	}
	if _, key, _, _ := tc.src.asked(); key != "" {
		t.Errorf("the Source was asked for %q without a session", key)
	}

	// A made-up or stale cookie is no session.
	u, _ := url.Parse(tc.ts.URL)
	tc.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: base64.RawURLEncoding.EncodeToString(make([]byte, 32))}})
	wantStatus(t, tc.get("/"), http.StatusSeeOther)
	wantStatus(t, tc.get("/api/v1/status"), http.StatusUnauthorized)

	// These need none.
	r = tc.get("/healthz")
	wantStatus(t, r, http.StatusOK)
	if r.body != "ok" {
		t.Errorf("/healthz body %q, want ok", r.body)
	}
	r = tc.get("/static/console.css")
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("stylesheet Content-Type %q", ct)
	}
	wantContains(t, r.body, ".link.broken", ".link.ok")
	for _, p := range []string{"/static/", "/static/%2E", "/static/nothing.css", "/static/a/b.css", "/static/%2E%2E/server.go", "/static/..%2Fserver.go"} {
		if r := tc.get(p); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without a session: %d, want 404", p, r.StatusCode)
		}
	}
	wantStatus(t, tc.get("/login"), http.StatusOK)
}

func TestLoginNext(t *testing.T) {
	tc := newTestConsole(t, 0)
	r := tc.get("/objects/photos/2024/a.jpg")
	wantStatus(t, r, http.StatusSeeOther)
	r = tc.get(r.Header.Get("Location"))
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `name="next" value="/objects/photos/2024/a.jpg"`)

	r = tc.postForm("/login", url.Values{"accessKey": {testAccessKey}, "secretKey": {testSecretKey}, "next": {"/objects/photos/2024/a.jpg"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/objects/photos/2024/a.jpg" {
		t.Errorf("Location %q", loc)
	}
	tc.client = tc.newClient()
	r = tc.postForm("/login", url.Values{"accessKey": {testAccessKey}, "secretKey": {testSecretKey}, "next": {"//evil.example/x"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/" {
		t.Errorf("Location %q for an off-site next, want /", loc)
	}
}

func TestSafeNext(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/buckets/photos?prefix=a%2Fb", "/buckets/photos?prefix=a%2Fb"},
		{"/objects/b/a%20b/%3Cx%3E", "/objects/b/a%20b/%3Cx%3E"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/a\\b", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"/a\nb", "/"},
		{"/a\tb", "/"},
		{"/%zz", "/"},
	} {
		if got := safeNext(c.in); got != c.want {
			t.Errorf("safeNext(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	const ttl = time.Hour
	tc := newTestConsole(t, ttl)
	tc.login()
	tc.advance(ttl - time.Second)
	wantStatus(t, tc.get("/"), http.StatusOK)
	wantStatus(t, tc.get("/api/v1/status"), http.StatusOK)

	tc.advance(time.Second)
	wantStatus(t, tc.get("/"), http.StatusSeeOther)
	wantStatus(t, tc.get("/api/v1/status"), http.StatusUnauthorized)
	if n := tc.srv.sessions.len(); n != 0 {
		t.Errorf("%d sessions held after expiry, want the expired one dropped", n)
	}

	// An expired session nobody asks for again is dropped at the next login.
	other := tc.newClient()
	r := tc.do(other, http.MethodPost, "/login", url.Values{"accessKey": {testAccessKey}, "secretKey": {testSecretKey}}, nil)
	wantStatus(t, r, http.StatusSeeOther)
	tc.advance(2 * ttl)
	tc.login()
	if n := tc.srv.sessions.len(); n != 1 {
		t.Errorf("%d sessions, want only the new one", n)
	}
	wantStatus(t, tc.do(other, http.MethodGet, "/", nil, nil), http.StatusSeeOther)
	wantStatus(t, tc.get("/"), http.StatusOK)
}

func TestLogout(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()
	token := tc.cookie()
	r := tc.postForm("/logout", url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/login" {
		t.Errorf("Location %q, want /login", loc)
	}
	if tc.cookie() != "" {
		t.Error("the browser keeps its session cookie after logout")
	}
	if n := tc.srv.sessions.len(); n != 0 {
		t.Errorf("%d sessions after logout", n)
	}
	// The old token, replayed, is dead.
	replay := tc.newClient()
	u, _ := url.Parse(tc.ts.URL)
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: token}})
	wantStatus(t, tc.do(replay, http.MethodGet, "/", nil, nil), http.StatusSeeOther)
	wantStatus(t, tc.do(replay, http.MethodGet, "/api/v1/status", nil, nil), http.StatusUnauthorized)
}

func TestClose(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()
	if err := tc.srv.Close(); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, tc.get("/"), http.StatusSeeOther)
}

func TestCrossOriginPost(t *testing.T) {
	tc := newTestConsole(t, 0)
	creds := url.Values{"accessKey": {testAccessKey}, "secretKey": {testSecretKey}}
	host := strings.TrimPrefix(tc.ts.URL, "https://")
	for _, c := range []struct {
		name   string
		header http.Header
	}{
		{"other origin", http.Header{"Origin": {"https://evil.example"}}},
		{"other port", http.Header{"Origin": {"https://127.0.0.1:1"}}},
		{"null origin", http.Header{"Origin": {"null"}}},
		{"cross-site fetch", http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"same-site fetch", http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {tc.ts.URL}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := tc.do(tc.client, http.MethodPost, "/login", creds, c.header)
			wantStatus(t, r, http.StatusForbidden)
			wantContains(t, r.body, "Cross-origin request refused")
			if tc.cookie() != "" {
				t.Fatal("a cross-origin login set a session")
			}
		})
	}

	// What Chromium sends for the console's own form under Referrer-Policy no-referrer:
	// Origin "null", but Sec-Fetch-Site same-origin.
	r := tc.do(tc.client, http.MethodPost, "/login", creds, http.Header{"Origin": {"null"}, "Sec-Fetch-Site": {"same-origin"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = tc.do(tc.client, http.MethodPost, "/login", creds, http.Header{"Origin": {"https://" + host}, "Sec-Fetch-Site": {"same-origin"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = tc.do(tc.client, http.MethodPost, "/logout", url.Values{}, http.Header{"Origin": {"https://evil.example"}})
	wantStatus(t, r, http.StatusForbidden)
	wantStatus(t, tc.get("/"), http.StatusOK) // still logged in

	// GET is not a write: a cross-origin link to a page is fine.
	r = tc.do(tc.client, http.MethodGet, "/", nil, http.Header{"Origin": {"https://evil.example"}})
	wantStatus(t, r, http.StatusOK)
}

func TestSecurityHeaders(t *testing.T) {
	tc := newTestConsole(t, 0)
	check := func(r response, cache string) {
		t.Helper()
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           cache,
		} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s %s (%d): %s %q, want %q", r.Request.Method, r.Request.URL.Path, r.StatusCode, k, got, want)
			}
		}
		if strings.Contains(r.body, "<script") || strings.Contains(r.body, "style=") || strings.Contains(r.body, "<style") {
			t.Errorf("%s: inline script or style in the page", r.Request.URL.Path)
		}
	}
	check(tc.get("/login"), "no-store")
	check(tc.get("/"), "no-store") // redirect
	check(tc.get("/api/v1/status"), "no-store")
	check(tc.get("/healthz"), "no-store")
	check(tc.get("/static/console.css"), "public, max-age=3600")
	check(tc.postForm("/login", url.Values{"accessKey": {"x"}}), "no-store")
	tc.login()
	for _, p := range []string{"/", "/buckets/photos", "/objects/photos/sse-s3.txt", "/objects/photos/sealed.txt",
		"/objects/photos/nothing", "/buckets/" + failBucket, "/api/v1/status", "/api/v1/chain/photos/sse-s3.txt", "/nowhere"} {
		check(tc.get(p), "no-store")
	}
	check(tc.get("/static/nothing.css"), "public, max-age=3600")
	wantStatus(t, tc.get("/static/nothing.css"), http.StatusNotFound)
}

// TestLoginThrottle spends a client's login attempts: after loginBurst failures every login,
// even a right one, is 429 with Retry-After and the form, until the allowance refills; a
// successful login resets it.
func TestLoginThrottle(t *testing.T) {
	tc := newTestConsole(t, 0)
	wrong := url.Values{"accessKey": {testAccessKey}, "secretKey": {"wrong"}}
	right := url.Values{"accessKey": {testAccessKey}, "secretKey": {testSecretKey}}
	for i := range loginBurst {
		if r := tc.postForm("/login", wrong); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, r.StatusCode)
		}
	}
	throttled := func(what string, form url.Values, wantRetry string) {
		t.Helper()
		r := tc.postForm("/login", form)
		wantStatus(t, r, http.StatusTooManyRequests)
		if got := r.Header.Get("Retry-After"); got != wantRetry {
			t.Errorf("%s: Retry-After %q, want %q", what, got, wantRetry)
		}
		wantContains(t, r.body, "Too many failed logins: try again in "+wantRetry+" seconds.", `id="login-message"`, `name="accessKey"`)
		if tc.cookie() != "" {
			t.Errorf("%s: a throttled login set a cookie", what)
		}
	}
	throttled("right credentials after the burst", right, "10")
	tc.advance(loginRefill - 3*time.Second)
	throttled("before the refill", wrong, "3")
	tc.advance(3 * time.Second)
	wantStatus(t, tc.postForm("/login", wrong), http.StatusUnauthorized)
	throttled("after the refilled attempt", wrong, "10")
	if !strings.Contains(tc.logs.String(), "console login throttled") {
		t.Error("throttled logins were not logged")
	}

	// A success forgets the failures: a whole burst is allowed again.
	tc.advance(loginRefill)
	tc.login()
	for i := range loginBurst {
		if r := tc.postForm("/login", wrong); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d after a login: %d, want 401", i+1, r.StatusCode)
		}
	}
	wantStatus(t, tc.postForm("/login", right), http.StatusTooManyRequests)

	// Other clients have their own allowance; an IPv6 /64 is one client.
	login := func(remote string) int {
		req := httptest.NewRequest(http.MethodPost, "https://console.test/login", strings.NewReader(wrong.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		tc.srv.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range loginBurst {
		for _, remote := range []string{"192.0.2.7:1000", fmt.Sprintf("[2001:db8::%x]:443", i)} {
			if code := login(remote); code != http.StatusUnauthorized {
				t.Fatalf("%s, failure %d: %d, want 401", remote, i+1, code)
			}
		}
	}
	for _, remote := range []string{"192.0.2.7:2000", "[2001:db8::ffff]:443", "[::ffff:192.0.2.7]:1"} {
		if code := login(remote); code != http.StatusTooManyRequests {
			t.Errorf("%s after a burst from its client: %d, want 429", remote, code)
		}
	}
	if code := login("[2001:db8:0:1::1]:443"); code != http.StatusUnauthorized {
		t.Errorf("another /64: %d, want 401", code)
	}
}

// TestLoginThrottleBounded fills the throttle with clients: past maxLoginClients, clients
// whose allowance is full again are dropped, and the rest share one allowance.
func TestLoginThrottleBounded(t *testing.T) {
	now := t0
	lt := newLoginThrottle(func() time.Time { return now })
	client := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
	}
	for i := range maxLoginClients {
		if ok, _ := lt.allow(client(i)); !ok {
			t.Fatalf("client %d refused", i)
		}
	}
	for i := range loginBurst {
		if ok, _ := lt.allow(client(maxLoginClients + i)); !ok {
			t.Fatalf("overflow attempt %d refused", i)
		}
	}
	if ok, wait := lt.allow(client(maxLoginClients + loginBurst)); ok || wait != loginRefill {
		t.Errorf("overflow past the shared burst: allowed %v, wait %v; want refused for %v", ok, wait, loginRefill)
	}
	if n := len(lt.clients); n != maxLoginClients+1 {
		t.Errorf("%d clients tracked, want %d and the shared one", n, maxLoginClients)
	}
	now = now.Add(loginRefill) // every single attempt has refilled
	if ok, _ := lt.allow(client(2 * maxLoginClients)); !ok {
		t.Error("new client refused after the others refilled")
	}
	if n := len(lt.clients); n > 2 {
		t.Errorf("%d clients tracked after the sweep, want the shared one and the new one", n)
	}
}
