package web

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzHandler sends arbitrary paths and query strings, with a session, to the handler:
// it must never panic, and never answer 5xx unless the fake Source failed on purpose.
// The seeds are in testdata/fuzz/FuzzHandler.
func FuzzHandler(f *testing.F) {
	src := newFakeSource()
	srv, err := New(Config{Source: src, AccessKey: testAccessKey, SecretKey: testSecretKey})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	form := url.Values{"accessKey": {testAccessKey}, "secretKey": {testSecretKey}}
	login := httptest.NewRequest(http.MethodPost, "https://console.test/login", strings.NewReader(form.Encode()))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, login)
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookies) != 1 {
		f.Fatalf("login: %d, cookies %v", rec.Code, cookies)
	}
	token := cookies[0].Value
	methods := []string{http.MethodGet, http.MethodPost, http.MethodHead, http.MethodDelete}

	f.Fuzz(func(t *testing.T, method byte, path, query string) {
		target := "/" + strings.TrimPrefix(path, "/")
		if query != "" {
			target += "?" + query
		}
		// Only what an HTTP/1.1 server would accept as a request line reaches a handler.
		raw := methods[int(method)%len(methods)] + " " + target + " HTTP/1.1\r\nHost: console.test\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		req.RemoteAddr = "192.0.2.1:1234"
		if !srv.sessions.valid(token) { // a fuzzed POST /logout ended it
			token = srv.sessions.create()
		}
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
		before := src.failed()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && src.failed() == before {
			t.Fatalf("%s %s: %d without a Source failure\n%s", req.Method, target, rec.Code, rec.Body)
		}
		if rec.Header().Get("Content-Security-Policy") == "" {
			t.Fatalf("%s %s: no Content-Security-Policy", req.Method, target)
		}
	})
}

// BenchmarkChainPage renders the chain page of an SSE-S3 object, session check included.
func BenchmarkChainPage(b *testing.B) {
	srv, err := New(Config{Source: newFakeSource(), AccessKey: testAccessKey, SecretKey: testSecretKey})
	if err != nil {
		b.Fatal(err)
	}
	h, token := srv.Handler(), srv.sessions.create()
	req := httptest.NewRequest(http.MethodGet, "https://console.test/objects/photos/sse-s3.txt", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
