package s3lite

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// CORS (PutBucketCors, GetBucketCors, DeleteBucketCors, preflight OPTIONS and the
// Access-Control-* headers of actual requests), as S3 does it: the first rule whose
// origin, method and requested headers match answers; origins and headers may hold one
// "*" wildcard each.

// maxCORSRules is S3's limit of rules in one CORS configuration.
const maxCORSRules = 100

// corsConfiguration is S3's CORSConfiguration document; the bucket record keeps it as
// parsed (bucketInfo.CORS).
type corsConfiguration struct {
	XMLName xml.Name   `xml:"CORSConfiguration" json:"-"`
	Xmlns   string     `xml:"xmlns,attr,omitempty" json:"-"`
	Rules   []corsRule `xml:"CORSRule" json:"rules"`
}

// corsRule is one CORSRule.
type corsRule struct {
	ID             string   `xml:"ID,omitempty" json:"id,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader" json:"headers,omitempty"`
	AllowedMethods []string `xml:"AllowedMethod" json:"methods"`
	AllowedOrigins []string `xml:"AllowedOrigin" json:"origins"`
	ExposeHeaders  []string `xml:"ExposeHeader" json:"expose,omitempty"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds" json:"maxAge,omitempty"`
}

// corsMethods are the methods a rule may allow.
var corsMethods = map[string]bool{"GET": true, "PUT": true, "POST": true, "DELETE": true, "HEAD": true}

// parseCORS decodes and checks a CORSConfiguration body as S3 does.
func parseCORS(data []byte) (*corsConfiguration, error) {
	var c corsConfiguration
	if err := readXML(bytesReader(data), &c); err != nil {
		return nil, err
	}
	if len(c.Rules) == 0 {
		return nil, withMsg(errMalformedXML, "A CORS configuration must have at least one CORSRule.")
	}
	if len(c.Rules) > maxCORSRules {
		return nil, withMsg(errMalformedXML, "The CORS configuration must have at most 100 rules.")
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if len(r.ID) > 255 {
			return nil, withMsg(errInvalidArgument, "The ID of a CORSRule must be at most 255 characters long.")
		}
		if len(r.AllowedMethods) == 0 || len(r.AllowedOrigins) == 0 {
			return nil, withMsg(errMalformedXML, "Each CORSRule needs at least one AllowedMethod and one AllowedOrigin.")
		}
		for _, m := range r.AllowedMethods {
			if !corsMethods[m] {
				return nil, withMsg(errInvalidRequest, "Found unsupported HTTP method in CORS config. Unsupported method is "+m)
			}
		}
		for _, o := range r.AllowedOrigins {
			if strings.Count(o, "*") > 1 {
				return nil, withMsg(errInvalidRequest, `AllowedOrigin "`+o+`" can not have more than one wildcard.`)
			}
		}
		for _, h := range r.AllowedHeaders {
			if strings.Count(h, "*") > 1 {
				return nil, withMsg(errInvalidRequest, `AllowedHeader "`+h+`" can not have more than one wildcard.`)
			}
		}
		for _, h := range r.ExposeHeaders {
			if strings.Contains(h, "*") {
				return nil, withMsg(errInvalidRequest, `ExposeHeader "`+h+`" contains wildcard. We currently do not support wildcard for ExposeHeader.`)
			}
		}
		if r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0 {
			return nil, withMsg(errMalformedXML, "MaxAgeSeconds must not be negative.")
		}
	}
	return &c, nil
}

// putBucketCors answers PutBucketCors.
func (s *Server) putBucketCors(w http.ResponseWriter, q *request) error {
	return putBucketConfig(s, w, q, parseCORS, func(bi *bucketInfo, c *corsConfiguration) { bi.CORS = c })
}

// getBucketCors answers GetBucketCors: 404 NoSuchCORSConfiguration when none is set.
func (s *Server) getBucketCors(w http.ResponseWriter, q *request) error {
	return s.getBucketConfig(w, q, errNoSuchCORSConfig, func(bi *bucketInfo) (any, bool) {
		if bi.CORS == nil {
			return nil, false
		}
		out := *bi.CORS
		out.Xmlns = s3NS
		return out, true
	})
}

// deleteBucketCors answers DeleteBucketCors: 204, set or not.
func (s *Server) deleteBucketCors(w http.ResponseWriter, q *request) error {
	return s.deleteBucketConfig(w, q, func(bi *bucketInfo) { bi.CORS = nil })
}

// match returns the first rule of c that allows origin, method and every header of
// reqHeaders (lower case), or nil.
func (c *corsConfiguration) match(origin, method string, reqHeaders []string) *corsRule {
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.allowsOrigin(origin) && r.allowsMethod(method) && r.allowsHeaders(reqHeaders) {
			return r
		}
	}
	return nil
}

func (r *corsRule) allowsOrigin(origin string) bool {
	for _, o := range r.AllowedOrigins {
		if wildcardMatch(o, origin, false) {
			return true
		}
	}
	return false
}

func (r *corsRule) allowsMethod(m string) bool {
	for _, a := range r.AllowedMethods {
		if a == m {
			return true
		}
	}
	return false
}

func (r *corsRule) allowsHeaders(hs []string) bool {
	for _, h := range hs {
		ok := false
		for _, a := range r.AllowedHeaders {
			if wildcardMatch(a, h, true) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// wildcardMatch matches s against pattern, which holds at most one "*" standing for any
// run of characters (S3 refuses more when the configuration is put).
func wildcardMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	pre, suf, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(pre)+len(suf) && strings.HasPrefix(s, pre) && strings.HasSuffix(s, suf)
}

// corsVary is the Vary value of every answer that depends on a CORS configuration.
const corsVary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

// setCORSHeaders writes the Access-Control-* headers of rule r for a request from origin;
// reqHeaders (preflight only) are the headers to allow.
func setCORSHeaders(h http.Header, r *corsRule, origin string, reqHeaders []string) {
	allow := origin
	for _, o := range r.AllowedOrigins {
		if o == "*" {
			allow = "*"
			break
		}
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if allow != "*" {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(r.AllowedMethods, ", "))
	if len(reqHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ", "))
	}
	if len(r.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(r.ExposeHeaders, ", "))
	}
	if r.MaxAgeSeconds != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*r.MaxAgeSeconds))
	}
	h.Set("Vary", corsVary)
}

// requestedHeaders splits Access-Control-Request-Headers into lower-case names.
func requestedHeaders(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// preflight answers a CORS preflight (OPTIONS on a bucket or object). It is not
// authenticated, as in S3: the browser sends no credentials with it.
func (s *Server) preflight(w http.ResponseWriter, q *request) error {
	h := q.r.Header
	origin := h.Get("Origin")
	if origin == "" {
		return withMsg(errCORSBadRequest, "Insufficient information. Origin request header needed.")
	}
	method := h.Get("Access-Control-Request-Method")
	if !corsMethods[method] {
		if method == "" {
			method = "null"
		}
		return withMsg(errCORSBadRequest, "Invalid Access-Control-Request-Method: "+method)
	}
	if q.bucket == "" || !validBucketName(q.bucket) {
		return errCORSNotEnabled
	}
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil && !errors.Is(err, errBucketDamaged) {
		return err
	}
	if bi.CORS == nil {
		return errCORSNotEnabled
	}
	reqHeaders := requestedHeaders(h.Get("Access-Control-Request-Headers"))
	r := bi.CORS.match(origin, method, reqHeaders)
	if r == nil {
		return errCORSNotAllowed
	}
	setCORSHeaders(w.Header(), r, origin, reqHeaders)
	w.WriteHeader(http.StatusOK)
	return nil
}

// corsActual adds the Access-Control-* headers of the first matching rule to the answer
// of an actual (non-OPTIONS) request that carries an Origin, before anything else runs,
// so that errors, refused signatures included, carry them too, as in S3. The method
// matched is Access-Control-Request-Method if the request has one, else its own.
func (s *Server) corsActual(w http.ResponseWriter, r *http.Request, bucket string) {
	origin := r.Header.Get("Origin")
	if origin == "" || bucket == "" || !validBucketName(bucket) {
		return
	}
	bi, err := s.requestBucket(r.Context(), bucket)
	if err != nil || bi.CORS == nil {
		return
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if method == "" {
		method = r.Method
	}
	if rule := bi.CORS.match(origin, method, nil); rule != nil {
		setCORSHeaders(w.Header(), rule, origin, nil)
	}
}
