package s3lite

import (
	"bytes"
	"errors"
	"mime/multipart"
	"strings"
	"testing"
)

func TestPostPolicyCheck(t *testing.T) {
	const exp = `"expiration":"2030-01-01T00:00:00.000Z"`
	fields := map[string]string{"key": "up/a.txt", "content-type": "text/plain, text/html", "x-amz-meta-m": "barclamp",
		"acl": "private", "x-ignore-x": "1", "x-amz-checksum-sha256": "x", "policy": "p", "signature": "s", "awsaccesskeyid": "a"}
	for _, c := range []struct {
		name, policy string
		want         error // nil: allowed
	}{
		{"all hold", `{` + exp + `,"conditions":[{"bucket":"b"},["starts-with","$key","up/"],{"acl":"private"},["starts-with","$Content-Type","text/"],["eq","$x-amz-meta-m","barclamp"],["content-length-range",0,10]]}`, nil},
		{"names fold case", `{` + exp + `,"conditions":[{"BUCKET":"b"},["STARTS-WITH","$KEY","up/"],{"aCl":"private"},["starts-with","$content-type",""],["starts-with","$X-Amz-Meta-M",""]]}`, nil},
		{"values do not", `{` + exp + `,"conditions":[{"bucket":"B"},["starts-with","$key",""],{"acl":"private"},["starts-with","$content-type",""],["starts-with","$x-amz-meta-m",""]]}`, errAccessDenied},
		{"every content type must match", `{` + exp + `,"conditions":[{"bucket":"b"},["starts-with","$key",""],{"acl":"private"},["starts-with","$content-type","text/p"],["starts-with","$x-amz-meta-m",""]]}`, errAccessDenied},
		{"field without condition", `{` + exp + `,"conditions":[{"bucket":"b"},["starts-with","$key",""],["starts-with","$content-type",""],["starts-with","$x-amz-meta-m",""]]}`, errAccessDenied},
		{"missing field is empty", `{` + exp + `,"conditions":[{"bucket":"b"},["starts-with","$key",""],{"acl":"private"},["starts-with","$content-type",""],["starts-with","$x-amz-meta-m",""],["eq","$x-amz-meta-absent",""]]}`, nil},
		{"missing field fails starts-with", `{` + exp + `,"conditions":[{"bucket":"b"},["starts-with","$key",""],{"acl":"private"},["starts-with","$content-type",""],["starts-with","$x-amz-meta-m",""],["starts-with","$x-amz-meta-absent","x"]]}`, errAccessDenied},
		{"no bucket condition", `{` + exp + `,"conditions":[["starts-with","$key",""],{"acl":"private"},["starts-with","$content-type",""],["starts-with","$x-amz-meta-m",""]]}`, errAccessDenied},
		{"length range as strings", `{` + exp + `,"conditions":[{"bucket":"b"},["starts-with","$key",""],{"acl":"private"},["starts-with","$content-type",""],["starts-with","$x-amz-meta-m",""],["content-length-range","1","2"]]}`, nil},
		{"negative length", `{` + exp + `,"conditions":[["content-length-range",-1,0]]}`, errInvalidPolicyDocument},
		{"inverted length", `{` + exp + `,"conditions":[["content-length-range",5,1]]}`, errInvalidPolicyDocument},
		{"length range of one bound", `{` + exp + `,"conditions":[["content-length-range",0]]}`, errInvalidPolicyDocument},
		{"unknown operation", `{` + exp + `,"conditions":[["ends-with","$key","x"]]}`, errInvalidPolicyDocument},
		{"field without $", `{` + exp + `,"conditions":[["eq","key","x"]]}`, errInvalidPolicyDocument},
		{"empty object", `{` + exp + `,"conditions":[{}]}`, errInvalidPolicyDocument},
		{"two fields in one object", `{` + exp + `,"conditions":[{"a":"1","b":"2"}]}`, errInvalidPolicyDocument},
		{"number value", `{` + exp + `,"conditions":[{"a":1}]}`, errInvalidPolicyDocument},
		{"no expiration", `{"conditions":[]}`, errInvalidPolicyDocument},
		{"Expiration", `{"Expiration":"2030-01-01T00:00:00Z","conditions":[]}`, errInvalidPolicyDocument},
		{"no conditions", `{` + exp + `}`, errInvalidPolicyDocument},
		{"Conditions", `{` + exp + `,"Conditions":[]}`, errInvalidPolicyDocument},
		{"date with a space", `{"expiration":"2030-01-01 00:00:00+00:00","conditions":[]}`, errInvalidPolicyDocument},
		{"not JSON", `expiration`, errInvalidPolicyDocument},
	} {
		p, err := parsePostPolicy(b64([]byte(c.policy)))
		if err == nil {
			err = p.check(fields, "b", fields["key"])
		}
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := parsePostPolicy("not base64!"); !errors.Is(err, errInvalidPolicyDocument) {
		t.Errorf("bad base64: %v", err)
	}
}

func TestReadPostForm(t *testing.T) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("KEY", "k")
	_ = mw.WriteField("key", "second") // the first of a name counts
	fw, _ := mw.CreateFormFile("File", "name.bin")
	_, _ = fw.Write([]byte("data"))
	_ = mw.WriteField("after", "ignored")
	_ = mw.Close()
	f, err := readPostForm(multipart.NewReader(&buf, mw.Boundary()))
	if err != nil {
		t.Fatal(err)
	}
	if f.fields["key"] != "k" || f.filename != "name.bin" || f.fields["after"] != "" {
		t.Errorf("form %+v", f)
	}
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	_ = mw.WriteField("policy", strings.Repeat("p", maxPostFields+1))
	_ = mw.Close()
	if _, err := readPostForm(multipart.NewReader(&buf, mw.Boundary())); !errors.Is(err, errMaxPostPreData) {
		t.Errorf("oversized fields: %v", err)
	}
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	_ = mw.WriteField("key", "k")
	_ = mw.Close()
	if _, err := readPostForm(multipart.NewReader(&buf, mw.Boundary())); !errors.Is(err, errMalformedPOST) {
		t.Errorf("form without a file: %v", err)
	}
}

// FuzzPostPolicy: any policy either fails with InvalidPolicyDocument or parses into
// conditions whose check answers nil or AccessDenied, never panicking.
func FuzzPostPolicy(f *testing.F) {
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key",""],["content-length-range",0,10]]}`), "key")
	f.Add([]byte(`{"expiration":"2030-01-01T00:00:00Z","conditions":[{}]}`), "")
	f.Add([]byte(`{"expiration":"x","conditions":[["eq","$a"]]}`), "a")
	f.Fuzz(func(t *testing.T, policy []byte, field string) {
		p, err := parsePostPolicy(b64(policy))
		if err != nil {
			if !errors.Is(err, errInvalidPolicyDocument) {
				t.Fatalf("policy error %v is not InvalidPolicyDocument", err)
			}
			return
		}
		if p.maxSize >= 0 && (p.minSize < 0 || p.maxSize < p.minSize) {
			t.Fatalf("content-length-range %d..%d accepted", p.minSize, p.maxSize)
		}
		if err := p.check(map[string]string{strings.ToLower(field): "v", "key": "k"}, "b", "k"); err != nil && !errors.Is(err, errAccessDenied) {
			t.Fatalf("check: %v", err)
		}
	})
}

// FuzzPostForm: any body either fails as MalformedPOSTRequest or MaxPostPreData, or
// yields lower-case field names and a file part.
func FuzzPostForm(f *testing.F) {
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n--B--\r\n"))
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"Key\"; filename=\"key\"\r\n\r\n\r\n--B--\r\n"))
	f.Add([]byte("--B\r\n\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := readPostForm(multipart.NewReader(bytes.NewReader(body), "B"))
		if err != nil {
			if !errors.Is(err, errMalformedPOST) && !errors.Is(err, errMaxPostPreData) {
				t.Fatalf("form error %v", err)
			}
			return
		}
		if form.file == nil {
			t.Fatal("form without a file part accepted")
		}
		for k := range form.fields {
			if k != strings.ToLower(k) {
				t.Fatalf("field name %q not lower-cased", k)
			}
		}
	})
}
