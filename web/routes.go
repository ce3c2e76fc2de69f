package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kmsbox/kmsbox/internal/httproute"
)

// Paths the handlers link to or redirect to.
const (
	pathLogin    = "/login"
	pathLogout   = "/logout"
	pathOverview = "/"
	pathBuckets  = "/buckets/"
	pathObjects  = "/objects/"
	pathStatic   = "/static/"
	pathAPI      = "/api/"
)

// authMode is how a route treats a request without a session.
type authMode int

const (
	authNone authMode = iota // no session needed
	authPage                 // 303 to the login page
	authAPI                  // 401 with a JSON error
)

const kib = 1 << 10

// route is one endpoint of the console.
type route struct {
	Pattern string // Go 1.22 ServeMux pattern: method and path with wildcards
	MaxBody int64  // zero: the handler reads no body
	Timeout time.Duration
	Auth    authMode
	Handle  http.HandlerFunc
}

// routes is the whole console: pages, the JSON API, static files and the health check.
// The two catch-alls answer 404 only after the session check, so an unknown path says
// nothing to a visitor who is not logged in.
func (s *Server) routes() []route {
	const t10, t30 = 10 * time.Second, 30 * time.Second
	return []route{
		{"GET /login", 0, t10, authNone, s.loginForm},
		{"POST /login", 16 * kib, t10, authNone, s.login},
		{"POST /logout", 16 * kib, t10, authPage, s.logout},

		{"GET /{$}", 0, t30, authPage, s.overview},
		{"GET /buckets/{bucket}", 0, t30, authPage, s.bucket},
		{"GET /objects/{bucket}/{key...}", 0, t30, authPage, s.chain},

		{"GET /api/v1/status", 0, t30, authAPI, s.apiStatus},
		{"GET /api/v1/buckets/{bucket}/objects", 0, t30, authAPI, s.apiObjects},
		{"GET /api/v1/chain/{bucket}/{key...}", 0, t30, authAPI, s.apiChain},

		{"GET /static/{file...}", 0, t10, authNone, s.staticFile},
		{"GET /healthz", 0, t10, authNone, s.healthz},

		{"/api/", 0, t10, authAPI, s.apiNotFound},
		{"/", 0, t10, authPage, s.pageNotFound},
	}
}

// newHandler registers every route and wraps the mux in the checks every response gets.
func (s *Server) newHandler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.Pattern, s.serveRoute(rt))
	}
	return s.secure(mux)
}

// serveRoute wraps a handler with the route's session check, body limit and timeout.
func (s *Server) serveRoute(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch rt.Auth {
		case authPage:
			if !s.sessions.valid(sessionToken(r)) {
				s.toLogin(w, r)
				return
			}
		case authAPI:
			if !s.sessions.valid(sessionToken(r)) {
				s.apiError(w, r, errNoSession)
				return
			}
		}
		if rt.MaxBody > 0 {
			r = httproute.LimitBody(httproute.IdleBody(w, r, s.bodyIdle), rt.MaxBody)
		}
		r, cancel := httproute.WithTimeout(r, rt.Timeout)
		defer cancel()
		rt.Handle(w, r)
	})
}

// secure sets the headers every response carries and refuses cross-origin writes.
//
// The policy allows only the console's own stylesheet: no script, no inline style, no
// frame. Pages and API answers may hold key ids and ciphertexts, so nothing but the
// static files is cached.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(r.URL.Path, pathStatic) {
			h.Set("Cache-Control", "public, max-age=3600")
		} else {
			h.Set("Cache-Control", "no-store")
		}
		// net/http's check: Sec-Fetch-Site must be same-origin (or none), or without it the
		// Origin must name the request's host. Browsers send Origin "null" with a
		// no-referrer policy, so Sec-Fetch-Site is what lets the console's own forms through.
		if err := s.csrf.Check(r); err != nil {
			s.fail(w, r, errCrossOrigin)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// toLogin sends a visitor without a session to the login page, remembering where they
// were going when that was a page (GET).
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	target := pathLogin
	if r.Method == http.MethodGet && r.URL.Path != pathOverview {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext is the local path a login continues to: next when it is a path of this
// console (not "//host" or "/\host", which browsers read as another host), else "/".
func safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return pathOverview
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return pathOverview
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
		return pathOverview
	}
	return next
}

// objectPath is the chain page of bucket/key. Each segment of the key is path-escaped,
// so keys with '?', '#', '%', spaces or unicode survive the round trip. A key with an
// empty, "." or ".." segment would be cleaned away by browsers and ServeMux, so such a
// key is escaped as one segment, its slashes as %2F. (A key that is exactly "." or ".."
// still cannot be reached by a browser; Go clients reach it as %2E.)
func objectPath(prefix, bucket, key string) string {
	return prefix + url.PathEscape(bucket) + "/" + escapeKey(key)
}

// escapeKey path-escapes key as described at objectPath.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		if seg == "" && i < len(segs)-1 || seg == "." || seg == ".." {
			esc := url.PathEscape(key)
			if key == "." || key == ".." {
				esc = strings.ReplaceAll(esc, ".", "%2E")
			}
			return esc
		}
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

// bucketPath is the listing page of bucket, filtered by prefix when it is not empty.
func bucketPath(bucket, prefix string) string {
	p := pathBuckets + url.PathEscape(bucket)
	if prefix != "" {
		p += "?prefix=" + url.QueryEscape(prefix)
	}
	return p
}
