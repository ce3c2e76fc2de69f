package s3lite

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/kmsbox/kmsbox/internal/httproute"
	"github.com/kmsbox/kmsbox/s3lite/internal/sigv4"
)

// serveHTTP authenticates, routes and runs one request.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	w.Header().Set("x-amz-request-id", strings.ToUpper(hex.EncodeToString(id[:])))
	w.Header().Set("Server", "kmsbox")
	w.Header().Set("Accept-Ranges", "bytes")
	httproute.ContinueEmpty(w, r)
	r = httproute.IdleBody(w, r, s.cfg.BodyIdle)

	bucket, key := s.splitPath(r)
	lvl := levelService
	if key != "" {
		lvl = levelObject
	} else if bucket != "" {
		lvl = levelBucket
	}
	q := r.URL.Query()
	sub := ""
	var unsupported error
	for k := range q {
		switch {
		case subresources[k]:
			if sub == "" || k == "uploadId" {
				sub = k
			}
		case plainParams[k], isAuthParam(k):
		default:
			unsupported = withMsg(errNotImplemented, "The "+k+" API is not implemented by this server")
		}
	}
	rt := findRoute(r, lvl, sub)
	if rt != nil && (rt.path != "" || rt.action == actionPublic) {
		r, cancel := httproute.WithTimeout(r, rt.timeout)
		defer cancel()
		if err := rt.h(s, w, &request{r: r, bucket: bucket, key: key}); err != nil {
			s.writeError(w, r, err)
		}
		return
	}
	r = withBucketMemo(r)
	s.corsActual(w, r, bucket)

	var auth *sigv4.Auth
	var err error
	if rt != nil && rt.selfAuth {
		// The handler authenticates and authorizes the request from its body (POST Object).
		auth = &sigv4.Auth{Body: r.Body, ContentLength: -1}
	} else {
		auth, err = s.verifier.Verify(r)
		if errors.Is(err, sigv4.ErrMissingAuth) {
			auth, err = sigv4.Anonymous(r)
			if err == nil && (unsupported != nil || rt == nil) {
				err = errAccessDenied
			}
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// auth.Body is not closed here: closing the request body drains it before an early error
	// answer is flushed, which holds that answer until an "Expect: 100-continue" client gives
	// up waiting and sends its body anyway. net/http closes the body after the handler.
	if unsupported != nil || rt == nil {
		s.writeError(w, r, notImplemented(r.Method, lvl, sub, unsupported))
		return
	}
	if bucket != "" && !validBucketName(bucket) {
		s.writeError(w, r, errInvalidBucketName)
		return
	}
	if err := s.checkExpectedOwner(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if key != "" {
		if err := checkObjectKey(key); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if rt.selfAuth {
		// authorized by the handler
	} else if err := s.authorize(r, rt, bucket, key, auth); err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := s.routeBody(rt, auth)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	r, cancel := httproute.WithTimeout(r, rt.timeout)
	defer cancel()
	rw := &trackingWriter{ResponseWriter: w}
	req := &request{r: r, bucket: bucket, key: key, auth: auth, body: body}
	if logs := s.startLog(rt, req, rw); logs != nil {
		// A logged bucket (accesslog.go): its record is buffered once the request is done.
		defer func() { s.endLog(logs, err) }()
	}
	err = rt.h(s, rw, req)
	if err == nil {
		return
	}
	err = rt.bodyError(err)
	if errors.Is(err, errNoSuchKey) {
		err = s.missingKeyError(r, bucket, key, auth, err)
	}
	if errors.Is(err, errObjectTampered) {
		s.dmg.report(bucket, key, err)
	}
	if rw.wrote {
		// Headers are out: abort the connection so the client sees a
		// failure instead of a short or altered body.
		s.log.Error("s3 response aborted", "op", rt.name, "bucket", bucket, "err", err)
		panic(http.ErrAbortHandler)
	}
	s.writeError(w, r, err)
}

// findRoute returns the first route of the table that matches r, which addresses lvl with
// the subresource sub; nil if none does.
func findRoute(r *http.Request, lvl level, sub string) *route {
	for i := range routes {
		c := &routes[i]
		if c.method != "" && c.method != r.Method {
			continue
		}
		if c.path != "" {
			if c.path == r.URL.Path {
				return c
			}
			continue
		}
		if c.level == lvl && (c.sub == sub || c.action == actionPublic) && (c.header == "" || r.Header.Get(c.header) != "") {
			return c
		}
	}
	return nil
}

// routeBody applies rt's body limit to the verified body auth.Body, before the handler
// runs. Past the limit the body fails instead of ending early (a cut body would hide its
// end, where the payload hash and chunk signatures are checked):
//   - object data (limit -1) is streamed to the handler, which commits only after a clean
//     io.EOF; reading past s.maxObject fails (EntityTooLarge);
//   - XML bodies (limit > 0) are read whole here, so their payload hash is verified before
//     the handler sees a byte; past the limit: MaxMessageLengthExceeded;
//   - routes without a body (limit 0) get an empty one; one that has content is refused
//     with UnexpectedContent, as S3 does, and an empty one still has its hash checked.
//
// A declared decoded length over the limit is refused before anything is read.
func (s *Server) routeBody(rt *route, auth *sigv4.Auth) (io.Reader, error) {
	if rt.limit < 0 {
		if auth.ContentLength > s.maxObject {
			return nil, errEntityTooLarge
		}
		return httproute.LimitReader(auth.Body, s.maxObject), nil
	}
	if auth.ContentLength > rt.limit {
		return nil, rt.bodyError(&httproute.TooLargeError{Limit: rt.limit})
	}
	data, err := io.ReadAll(httproute.LimitReader(auth.Body, rt.limit))
	if err != nil {
		return nil, rt.bodyError(err)
	}
	return bytes.NewReader(data), nil
}

// bodyError maps a body over rt's limit to rt's S3 error; other errors pass unchanged.
func (rt *route) bodyError(err error) error {
	var tl *httproute.TooLargeError
	if !errors.As(err, &tl) {
		return err
	}
	switch {
	case rt.limit < 0:
		return errors.Join(errEntityTooLarge, err)
	case rt.limit == 0:
		return errors.Join(errUnexpectedContent, err)
	}
	return errors.Join(errMaxMessageLength, err)
}

// trackingWriter records whether the response has started, its status and body size.
type trackingWriter struct {
	http.ResponseWriter
	wrote  bool
	status int
	n      int64
}

func (t *trackingWriter) WriteHeader(code int) {
	if !t.wrote {
		t.status = code
	}
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}
func (t *trackingWriter) Write(p []byte) (int, error) {
	t.wrote = true
	n, err := t.ResponseWriter.Write(p)
	t.n += int64(n)
	return n, err
}

// Flush lets streamed bodies reach the client early.
func (t *trackingWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// splitPath returns bucket and key of r, virtual-hosted style when the
// Host is a subdomain of Config.Domain, else path style.
func (s *Server) splitPath(r *http.Request) (bucket, key string) {
	p := r.URL.Path
	if s.cfg.Domain != "" {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(host)
		if b, ok := strings.CutSuffix(host, "."+strings.ToLower(s.cfg.Domain)); ok && b != "" {
			return b, strings.TrimPrefix(p, "/")
		}
	}
	p = strings.TrimPrefix(p, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// validBucketName applies S3's bucket naming rules.
func validBucketName(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	// Each dot-separated label starts and ends with a letter or digit, so
	// "..", ".-" and "-." never appear.
	if strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-.") || strings.HasPrefix(b, "xn--") || strings.HasSuffix(b, "-s3alias") {
		return false
	}
	if net.ParseIP(b) != nil {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if (i == 0 || i == len(b)-1) && !alnum {
			return false
		}
		if !alnum && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// checkObjectKey refuses keys S3 cannot round-trip. Keys never become file
// paths, so "../" and absolute-looking keys are harmless and allowed.
func checkObjectKey(k string) error {
	if len(k) > 1024 {
		return errKeyTooLong
	}
	if !utf8.ValidString(k) || strings.ContainsRune(k, 0) {
		return withMsg(errInvalidArgument, "Object name contains unsupported characters.")
	}
	return nil
}

// healthLive answers MinIO's liveness check: the server runs.
func (s *Server) healthLive(w http.ResponseWriter, _ *request) error {
	w.WriteHeader(http.StatusOK)
	return nil
}

// healthReady answers MinIO's readiness check: 503 while the KMS cannot serve.
func (s *Server) healthReady(w http.ResponseWriter, q *request) error {
	if s.cfg.KMS != nil {
		if err := s.cfg.KMS.Status(q.r.Context()); err != nil {
			s.log.Warn("s3 not ready: KMS unavailable", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			return nil
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
