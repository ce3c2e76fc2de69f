package s3lite

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The records of S3's server access log format (accesslog.go buffers and delivers them).

// logRecord formats one record of S3's server access log format: bucket owner, bucket,
// [time], remote IP, requester, request ID, operation, key, "request URI", HTTP status,
// error code, bytes sent, object size, total time, turn-around time, "referer",
// "user agent", version ID, host ID, signature version, cipher suite, authentication
// type, host header, TLS version, access point ARN, ACL required; "-" for none.
func (s *Server) logRecord(e *logEntry, now time.Time) []byte {
	r, q := e.q.r, e.q
	status, code := e.rw.status, "-"
	if e.err != nil && !e.rw.wrote {
		a := toAPIError(e.err)
		status, code = a.Status, a.Code
	}
	if status == 0 {
		status = http.StatusOK
	}
	requester, sigVer, authType := "-", "-", "-"
	if !q.isAnonymous() {
		requester = s.owner(q).ID
		sigVer, authType = "SigV4", "AuthHeader"
		if q.auth.Presigned || r.URL.Query().Has("X-Amz-Signature") || r.URL.Query().Has("Signature") {
			authType = "QueryString"
		}
		if strings.HasPrefix(r.Header.Get("Authorization"), "AWS ") || r.URL.Query().Has("Signature") {
			sigVer = "SigV2"
		}
	}
	ip := r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	objSize := "-"
	switch {
	case e.op != "":
	case r.Method == http.MethodPut && e.rt.limit < 0 && q.auth != nil && q.auth.ContentLength >= 0:
		objSize = strconv.FormatInt(q.auth.ContentLength, 10)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		if v := e.rw.Header().Get("Content-Length"); v != "" && q.key != "" {
			objSize = v
		}
	}
	cipher, tlsVer := "-", "-"
	if r.TLS != nil {
		cipher = tls.CipherSuiteName(r.TLS.CipherSuite)
		tlsVer = strings.Replace(tls.VersionName(r.TLS.Version), "TLS 1.", "TLSv1.", 1)
	}
	ms := strconv.FormatInt(now.Sub(e.start).Milliseconds(), 10)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s [%s] %s %s %s %s %s %s %d %s %s %s %s %s %s %s %s - %s %s %s %s %s - -\n",
		s.owner(&request{}).ID, e.bucket, e.start.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		orDash(ip), requester, orDash(e.reqID), e.operation(), orDash(logKey(e.key)),
		quoted(r.Method+" "+r.URL.RequestURI()+" "+r.Proto), status, code,
		dashZero(e.rw.n), objSize, ms, ms, quoted(r.Referer()), quoted(r.UserAgent()),
		orDash(e.rw.Header().Get("x-amz-version-id")), sigVer, cipher, authType, orDash(r.Host), tlsVer)
	return []byte(b.String())
}

// operation names the operation of e's record: REST.<method>.<resource>, as S3 does.
func (e *logEntry) operation() string {
	rt, r := e.rt, e.q.r
	if e.op != "" {
		return e.op
	}
	if op, ok := logOps[rt.name]; ok {
		return op
	}
	res := strings.ToUpper(strings.ReplaceAll(rt.sub, "-", "_"))
	if res == "" {
		res = "OBJECT"
		if rt.level == levelBucket {
			res = "BUCKET"
		}
	}
	return "REST." + r.Method + "." + res
}

// logOps are the operation names that do not follow from method and subresource.
var logOps = map[string]string{
	"CopyObject": "REST.COPY.OBJECT", "UploadPartCopy": "REST.COPY.PART",
	"CreateMultipartUpload": "REST.POST.UPLOADS", "UploadPart": "REST.PUT.PART",
	"CompleteMultipartUpload": "REST.POST.UPLOAD", "ListParts": "REST.GET.UPLOAD",
	"AbortMultipartUpload": "REST.DELETE.UPLOAD", "DeleteObjects": "REST.POST.MULTI_OBJECT_DELETE",
	"PostObject": "REST.POST.OBJECT", "ListObjectVersions": "REST.GET.BUCKETVERSIONS",
	"PutObjectTagging": "REST.PUT.OBJECT_TAGGING", "GetObjectTagging": "REST.GET.OBJECT_TAGGING",
	"DeleteObjectTagging": "REST.DELETE.OBJECT_TAGGING", "GetBucketPolicy": "REST.GET.BUCKETPOLICY",
	"PutBucketPolicy": "REST.PUT.BUCKETPOLICY", "DeleteBucketPolicy": "REST.DELETE.BUCKETPOLICY",
	"PutBucketLogging": "REST.PUT.LOGGING_STATUS", "GetBucketLogging": "REST.GET.LOGGING_STATUS",
	"GetObjectAttributes": "REST.GET.OBJECT_ATTRIBUTES", "PreflightBucket": "REST.OPTIONS.PREFLIGHT",
	"PreflightObject": "REST.OPTIONS.PREFLIGHT",
}

// logKey is key as a record shows it: URL-encoded, slashes kept.
func logKey(key string) string {
	return (&url.URL{Path: key}).EscapedPath()
}

// quoted is v in double quotes ("-" when empty), inner quotes escaped.
func quoted(v string) string {
	if v == "" {
		return `"-"`
	}
	return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
}

func orDash(v string) string {
	if v == "" {
		return "-"
	}
	return v
}

func dashZero(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}
