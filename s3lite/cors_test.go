package s3lite

import (
	"context"
	"crypto/md5"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7/pkg/cors"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// TestBucketCorsMinio: minio-go's SetBucketCors, GetBucketCors and a removal round-trip;
// GetBucketCors of none is 404 NoSuchCORSConfiguration.
func TestBucketCorsMinio(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("corsmc")
	// minio-go maps 404 NoSuchCORSConfiguration to a nil configuration.
	if c, err := e.mc.GetBucketCors(ctx, b); c != nil || err != nil {
		t.Fatalf("GetBucketCors of none: %v %v", c, err)
	}
	in := cors.NewConfig([]cors.Rule{{AllowedOrigin: []string{"https://*.example.com"}, AllowedMethod: []string{"GET", "PUT"},
		AllowedHeader: []string{"x-amz-*"}, ExposeHeader: []string{"ETag"}, MaxAgeSeconds: 600, ID: "web"}})
	if err := e.mc.SetBucketCors(ctx, b, in); err != nil {
		t.Fatal(err)
	}
	got, err := e.mc.GetBucketCors(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CORSRules) != 1 {
		t.Fatalf("rules: %+v", got.CORSRules)
	}
	r := got.CORSRules[0]
	if r.ID != "web" || r.MaxAgeSeconds != 600 || strings.Join(r.AllowedMethod, ",") != "GET,PUT" ||
		r.AllowedOrigin[0] != "https://*.example.com" || r.AllowedHeader[0] != "x-amz-*" || r.ExposeHeader[0] != "ETag" {
		t.Errorf("rule read back: %+v", r)
	}
	if err := e.mc.SetBucketCors(ctx, b, nil); err != nil { // minio-go deletes on nil
		t.Fatal(err)
	}
	if c, err := e.mc.GetBucketCors(ctx, b); c != nil || err != nil {
		t.Errorf("GetBucketCors after delete: %v %v", c, err)
	}
	if _, err := e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String(b)}); s3Code(err) != "NoSuchCORSConfiguration" {
		t.Errorf("aws GetBucketCors of none: %v", err)
	}
}

// TestBucketCorsErrors: S3's refusals of a CORS configuration, through aws-sdk-go-v2 (which
// sends a checksum) and raw requests.
func TestBucketCorsErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("corserr")
	put := func(rules ...s3types.CORSRule) error {
		_, err := e.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(b), CORSConfiguration: &s3types.CORSConfiguration{CORSRules: rules}})
		return err
	}
	rule := func(origin string, methods ...string) s3types.CORSRule {
		return s3types.CORSRule{AllowedOrigins: []string{origin}, AllowedMethods: methods}
	}
	many := make([]s3types.CORSRule, 101)
	for i := range many {
		many[i] = rule("*", "GET")
	}
	for _, c := range []struct {
		name  string
		rules []s3types.CORSRule
		code  string
		msg   string
	}{
		{"unsupported method", []s3types.CORSRule{rule("*", "GET", "PATCH")}, "InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"},
		{"two wildcards", []s3types.CORSRule{rule("*.a.*", "GET")}, "InvalidRequest", `AllowedOrigin "*.a.*" can not have more than one wildcard.`},
		{"101 rules", many, "MalformedXML", ""},
		{"expose wildcard", []s3types.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, ExposeHeaders: []string{"*"}}}, "InvalidRequest", ""},
	} {
		err := put(c.rules...)
		if s3Code(err) != c.code || c.msg != "" && !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %s %q", c.name, err, c.code, c.msg)
		}
	}
	if err := put(many[:100]...); err != nil {
		t.Errorf("100 rules: %v", err)
	}
	if _, err := e.s3.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String(b)}); err != nil {
		t.Errorf("DeleteBucketCors of none: %v", err)
	}
	if _, err := e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("nosuchbucket")}); s3Code(err) != "NoSuchBucket" {
		t.Errorf("GetBucketCors of a missing bucket: %v", err)
	}
	for _, c := range []struct{ name, body, code string }{
		{"no method", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>`, "MalformedXML"},
		{"no rule", `<CORSConfiguration></CORSConfiguration>`, "MalformedXML"},
		{"not xml", `<CORSConfiguration>`, "MalformedXML"},
		{"negative max age", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule></CORSConfiguration>`, "MalformedXML"},
		{"two header wildcards", `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>*a*</AllowedHeader></CORSRule></CORSConfiguration>`, "InvalidRequest"},
	} {
		if st, out := e.putConfig(t, b, "cors", c.body, true); st != 400 || !strings.Contains(out, "<Code>"+c.code+"</Code>") {
			t.Errorf("%s: %d %s", c.name, st, out)
		}
	}
	body := `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`
	if st, out := e.putConfig(t, b, "cors", body, false); st != 400 || !strings.Contains(out, "<Code>MissingContentMD5</Code>") {
		t.Errorf("without Content-MD5: %d %s", st, out)
	}
	if st, out := e.putConfig(t, b, "cors", body, true); st != 200 {
		t.Errorf("with Content-MD5: %d %s", st, out)
	}
}

// putConfig PUTs body to ?sub of bucket b, signed, with its Content-MD5 if withMD5; it
// returns the status and the answer's body.
func (e *env) putConfig(t *testing.T, b, sub, body string, withMD5 bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, e.ts.URL+"/"+b+"?"+sub, strings.NewReader(body))
	if withMD5 {
		sum := md5.Sum([]byte(body))
		req.Header.Set("Content-Md5", b64(sum[:]))
	}
	st, out := e.doSigned(t, req)
	return st, string(out)
}

// corsRules is the configuration of test_cors_origin_response in the ceph suite.
var corsRules = []s3types.CORSRule{
	{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*suffix"}},
	{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"start*end"}},
	{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"prefix*"}},
	{AllowedMethods: []string{"PUT"}, AllowedOrigins: []string{"*.put"}, AllowedHeaders: []string{"x-amz-meta-*", "content-type"},
		ExposeHeaders: []string{"ETag", "x-amz-request-id"}, MaxAgeSeconds: aws.Int32(300)},
}

// TestCorsPreflight sends unauthenticated OPTIONS requests with net/http, as a browser
// does, and checks the status, the Access-Control-* headers and the error code.
func TestCorsPreflight(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("preflight")
	send := func(path string, hdr ...string) *http.Response {
		return e.sendCORS(t, http.MethodOptions, path, false, hdr...)
	}
	if r := send("/"+b+"/obj", "Origin", "foo.suffix", "Access-Control-Request-Method", "GET"); r.StatusCode != 403 {
		t.Errorf("preflight without a CORS configuration: %d", r.StatusCode)
	}
	if _, err := e.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(b), CORSConfiguration: &s3types.CORSConfiguration{CORSRules: corsRules}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path, origin, method, headers string
		status                              int
		allowOrigin, allowMethods           string
	}{
		{"no origin", "/" + b, "", "GET", "", 400, "", ""},
		{"no method", "/" + b, "foo.suffix", "", "", 400, "", ""},
		{"bad method", "/" + b, "foo.suffix", "PATCH", "", 400, "", ""},
		{"suffix object", "/" + b + "/obj", "foo.suffix", "GET", "", 200, "foo.suffix", "GET"},
		{"suffix presigned", "/" + b + "/obj?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00", "foo.suffix", "GET", "", 200, "foo.suffix", "GET"},
		{"no match", "/" + b, "foo.bar", "GET", "", 403, "", ""},
		{"suffix then more", "/" + b, "foo.suffix.get", "GET", "", 403, "", ""},
		{"start end", "/" + b, "startend", "GET", "", 200, "startend", "GET"},
		{"start 12 end", "/" + b, "start12end", "GET", "", 200, "start12end", "GET"},
		{"before start", "/" + b, "0start12end", "GET", "", 403, "", ""},
		{"prefix", "/" + b, "prefix.suffix", "GET", "", 200, "prefix.suffix", "GET"},
		{"not prefix", "/" + b, "bla.prefix", "GET", "", 403, "", ""},
		{"wrong method", "/" + b, "foo.put", "GET", "", 403, "", ""},
		{"put", "/" + b, "foo.put", "PUT", "", 200, "foo.put", "PUT"},
		{"put headers", "/" + b + "/k", "foo.put", "PUT", "X-Amz-Meta-A, Content-Type", 200, "foo.put", "PUT"},
		{"header not allowed", "/" + b + "/k", "foo.put", "PUT", "x-amz-meta-a, authorization", 403, "", ""},
		{"no headers allowed", "/" + b + "/k", "foo.suffix", "GET", "x-amz-meta-header2", 403, "", ""},
		{"cors subresource", "/" + b + "?cors", "foo.suffix", "GET", "", 200, "foo.suffix", "GET"},
	} {
		hdr := []string{}
		for _, kv := range [][2]string{{"Origin", c.origin}, {"Access-Control-Request-Method", c.method}, {"Access-Control-Request-Headers", c.headers}} {
			if kv[1] != "" {
				hdr = append(hdr, kv[0], kv[1])
			}
		}
		r := send(c.path, hdr...)
		if r.StatusCode != c.status || r.Header.Get("Access-Control-Allow-Origin") != c.allowOrigin || r.Header.Get("Access-Control-Allow-Methods") != c.allowMethods {
			t.Errorf("%s: %d origin %q methods %q, want %d %q %q", c.name, r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"),
				r.Header.Get("Access-Control-Allow-Methods"), c.status, c.allowOrigin, c.allowMethods)
		}
	}
	r := send("/"+b+"/k", "Origin", "foo.put", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "X-Amz-Meta-A")
	h := r.Header
	if h.Get("Access-Control-Allow-Headers") != "x-amz-meta-a" || h.Get("Access-Control-Max-Age") != "300" ||
		h.Get("Access-Control-Expose-Headers") != "ETag, x-amz-request-id" || h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Vary") != corsVary {
		t.Errorf("preflight headers: %v", h)
	}
	if r := send("/nosuchbucket/k", "Origin", "a", "Access-Control-Request-Method", "GET"); r.StatusCode != 404 {
		t.Errorf("preflight on a missing bucket: %d", r.StatusCode)
	}
}

// TestCorsActualRequest: a request with an Origin gets the headers of the first rule
// matching its origin and method (Access-Control-Request-Method when sent), on success
// and on errors, signed or not; "*" answers "*".
func TestCorsActualRequest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("corsactual")
	if _, err := e.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(b), CORSConfiguration: &s3types.CORSConfiguration{CORSRules: corsRules}}); err != nil {
		t.Fatal(err)
	}
	putPlain(t, e, b, "k", []byte("x"))
	for _, c := range []struct {
		name, method, path, origin, reqMethod string
		signed                                bool
		status                                int
		allowOrigin, allowMethods             string
	}{
		{"signed get", "GET", "/" + b + "/k", "foo.suffix", "", true, 200, "foo.suffix", "GET"},
		{"signed get no origin", "GET", "/" + b + "/k", "", "", true, 200, "", ""},
		{"signed get missing", "GET", "/" + b + "/nokey", "foo.suffix", "", true, 404, "foo.suffix", "GET"},
		{"no match", "GET", "/" + b + "/k", "foo.bar", "", true, 200, "", ""},
		{"anonymous put by request method", "PUT", "/" + b + "/k", "foo.suffix", "GET", false, 403, "foo.suffix", "GET"},
		{"anonymous put not allowed", "PUT", "/" + b + "/k", "foo.suffix", "", false, 403, "", ""},
		{"anonymous put allowed", "PUT", "/" + b + "/k", "foo.put", "", false, 403, "foo.put", "PUT"},
	} {
		resp := e.sendCORS(t, c.method, c.path, c.signed, "Origin", c.origin, "Access-Control-Request-Method", c.reqMethod)
		if resp.StatusCode != c.status || resp.Header.Get("Access-Control-Allow-Origin") != c.allowOrigin || resp.Header.Get("Access-Control-Allow-Methods") != c.allowMethods {
			t.Errorf("%s: %d origin %q methods %q, want %d %q %q", c.name, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"),
				resp.Header.Get("Access-Control-Allow-Methods"), c.status, c.allowOrigin, c.allowMethods)
		}
	}
	wb := e.bucket("corswild")
	if _, err := e.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(wb), CORSConfiguration: &s3types.CORSConfiguration{
		CORSRules: []s3types.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}}}}}); err != nil {
		t.Fatal(err)
	}
	resp := e.sendCORS(t, http.MethodGet, "/"+wb, true, "Origin", "example.origin")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("wildcard origin: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestWildcardMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		fold, want bool
	}{
		{"*", "", false, true},
		{"*", "anything", false, true},
		{"a*", "a", false, true},
		{"*a", "ba", false, true},
		{"a*a", "a", false, false},
		{"a*a", "aa", false, true},
		{"https://*.example.com", "https://www.example.com", false, true},
		{"https://*.example.com", "https://example.com", false, false},
		{"exact", "Exact", false, false},
		{"X-Amz-*", "x-amz-date", true, true},
	} {
		if got := wildcardMatch(c.pattern, c.s, c.fold); got != c.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}

// sendCORS sends method path with the header pairs hdr (empty values left out), signed or
// not, and returns the answer with its body closed.
func (e *env) sendCORS(t *testing.T, method, path string, signed bool, hdr ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, e.ts.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] != "" {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	if signed {
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		req = signer.SignV4(*req, testAccess, testSecret, "", "us-east-1")
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
