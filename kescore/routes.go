package kescore

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kmsbox/kmsbox/internal/httproute"
)

// API paths. A path ending in '/' takes the resource (key, policy,
// identity name or listing pattern) as the rest of the URL path.
const (
	pathVersion          = "/version"
	pathReady            = "/v1/ready"
	pathStatus           = "/v1/status"
	pathMetrics          = "/v1/metrics"
	pathAPI              = "/v1/api"
	pathKeyCreate        = "/v1/key/create/"
	pathKeyImport        = "/v1/key/import/"
	pathKeyDescribe      = "/v1/key/describe/"
	pathKeyList          = "/v1/key/list/"
	pathKeyDelete        = "/v1/key/delete/"
	pathKeyGenerate      = "/v1/key/generate/"
	pathKeyEncrypt       = "/v1/key/encrypt/"
	pathKeyDecrypt       = "/v1/key/decrypt/"
	pathKeyHMAC          = "/v1/key/hmac/"
	pathPolicyDescribe   = "/v1/policy/describe/"
	pathPolicyRead       = "/v1/policy/read/"
	pathPolicyList       = "/v1/policy/list/"
	pathIdentityDescribe = "/v1/identity/describe/"
	pathIdentityList     = "/v1/identity/list/"
	pathIdentitySelf     = "/v1/identity/self/describe"
	pathLogError         = "/v1/log/error"
	pathLogAudit         = "/v1/log/audit"
)

// authMode is how a route authenticates its caller.
type authMode int

const (
	authVerify   authMode = iota // identity must be admin or allowed by its policy
	authIdentify                 // a client certificate is required, no policy check
	authNone                     // no authentication at the HTTP level
)

// mb is KES's body limit of 1 MB: decimal, as the real KES v0.24 enforces and
// reports it in /v1/api (max_body 1000000).
const mb = 1_000_000

// route is one API endpoint.
type route struct {
	Method  string
	Path    string
	MaxBody int64
	Timeout time.Duration // zero: none (streams)
	Auth    authMode
	Handle  func(http.ResponseWriter, *apiRequest)
}

// apiRequest is a request that passed routing and authentication.
type apiRequest struct {
	*http.Request
	Identity string // empty for authNone routes
	Resource string // URL path after the route's path
}

// routes is the whole KES API surface.
func (s *Server) routes() []route {
	const t10, t15 = 10 * time.Second, 15 * time.Second
	get, put, del := http.MethodGet, http.MethodPut, http.MethodDelete
	return []route{
		{get, pathVersion, 0, t10, authNone, s.version},
		{get, pathReady, 0, t15, authVerify, s.ready},
		{get, pathStatus, 0, t15, authVerify, s.status},
		{get, pathMetrics, 0, t15, authVerify, s.serveMetrics},
		{get, pathAPI, 0, t10, authVerify, s.listAPIs},

		{put, pathKeyCreate, 0, t15, authVerify, s.createKey},
		{put, pathKeyImport, 1 * mb, t15, authVerify, s.importKey},
		{get, pathKeyDescribe, 0, t15, authVerify, s.describeKey},
		{get, pathKeyList, 0, t15, authVerify, s.listKeys},
		{del, pathKeyDelete, 0, t15, authVerify, s.deleteKey},
		{put, pathKeyGenerate, 1 * mb, t15, authVerify, s.generateKey},
		{put, pathKeyEncrypt, 1 * mb, t15, authVerify, s.encryptKey},
		{put, pathKeyDecrypt, 1 * mb, t15, authVerify, s.decryptKey},
		{put, pathKeyHMAC, 1 * mb, t15, authVerify, s.hmacKey},

		{get, pathPolicyDescribe, 0, t15, authVerify, s.describePolicy},
		{get, pathPolicyRead, 0, t15, authVerify, s.readPolicy},
		{get, pathPolicyList, 0, t15, authVerify, s.listPolicies},

		{get, pathIdentityDescribe, 0, t15, authVerify, s.describeIdentity},
		{get, pathIdentityList, 0, t15, authVerify, s.listIdentities},
		{get, pathIdentitySelf, 0, t15, authIdentify, s.selfDescribeIdentity},

		{get, pathLogError, 0, 0, authVerify, s.logError},
		{get, pathLogAudit, 0, 0, authVerify, s.logAudit},
	}
}

// knownPath reports whether path is the path of an API route, with or
// without the trailing '/' of resource routes.
func knownPath(path string) bool {
	var s Server
	for _, rt := range s.routes() {
		if path == rt.Path || path+"/" == rt.Path {
			return true
		}
	}
	return false
}

// applyOverrides applies Config.Routes to the route table.
func applyOverrides(table []route, overrides map[string]RouteConfig) {
	for i := range table {
		rc, ok := overrides[table[i].Path]
		if !ok {
			rc, ok = overrides[strings.TrimSuffix(table[i].Path, "/")]
		}
		if !ok {
			continue
		}
		if rc.SkipAuth {
			table[i].Auth = authNone
		}
		if rc.Timeout > 0 {
			table[i].Timeout = rc.Timeout
		}
	}
}

// newMux registers every route. Paths ending in '/' are ServeMux subtrees,
// and the bare path (e.g. "GET /v1/key/list", which kms-go sends for an
// empty prefix) is redirected with 301 to the subtree, as KES does.
func (s *Server) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range s.table {
		mux.Handle(rt.Path, s.serveRoute(rt))
		if base, ok := strings.CutSuffix(rt.Path, "/"); ok {
			mux.Handle(base, http.RedirectHandler(rt.Path, http.StatusMovedPermanently))
		}
	}
	return mux
}

// serveRoute wraps a handler with the route's method check, client
// authentication and authorization, body limit, timeout, metrics and
// audit logging.
func (s *Server) serveRoute(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.active.Inc()
		sw := &statusWriter{ResponseWriter: w}
		identity := ""
		defer func() {
			s.metrics.active.Dec()
			elapsed := time.Since(start)
			s.metrics.observe(sw.code(), elapsed)
			s.audit(r, identity, sw.code(), elapsed)
		}()

		if r.Method != rt.Method && !(rt.Method == http.MethodPut && r.Method == http.MethodPost) {
			sw.Header().Set("Accept", rt.Method)
			s.writeError(sw, r, failf(http.StatusMethodNotAllowed, "received method '%s' expected '%s'", r.Method, rt.Method), nil)
			return
		}
		if rt.Auth == authNone {
			identity, _ = s.identify(r) // for the audit log only
		} else {
			id, err := s.identify(r)
			if err != nil {
				s.writeError(sw, r, err, nil)
				return
			}
			identity = id
			if rt.Auth == authVerify {
				if err := s.authorize(id, r.URL.Path); err != nil {
					s.writeError(sw, r, err, nil)
					return
				}
			}
		}
		if rt.MaxBody > 0 {
			r = httproute.LimitBody(httproute.IdleBody(w, r, s.cfg.BodyIdle), rt.MaxBody)
		} else {
			r = r.WithContext(r.Context())
			r.Body = http.NoBody
		}
		r, cancel := httproute.WithTimeout(r, rt.Timeout)
		defer cancel()
		if rt.Timeout > 0 {
			// Also bound writing the response, as KES does; recorders and
			// other writers without deadlines just skip this.
			_ = http.NewResponseController(sw).SetWriteDeadline(time.Now().Add(rt.Timeout))
		}
		req := &apiRequest{Request: r, Identity: identity}
		if strings.HasSuffix(rt.Path, "/") {
			req.Resource = strings.TrimPrefix(r.URL.Path, rt.Path)
		}
		rt.Handle(sw, req)
	})
}

// readJSON decodes the request body into v. Unknown fields and what follows the JSON
// value are ignored, but the body is read to its end: one that goes on past the route's
// limit is refused, not decoded from its first megabyte.
func readJSON(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		// Too large bodies are invalid bodies too, as in KES.
		return fmt.Errorf("%w: %w", errInvalidBody, err)
	}
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return fmt.Errorf("%w: %w", errInvalidBody, err)
	}
	return nil
}

// statusWriter records the status code for metrics and the audit log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
