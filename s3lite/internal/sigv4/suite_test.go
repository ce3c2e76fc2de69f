package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The vectors under testdata/aws-sig-v4-test-suite are AWS's published Signature Version 4
// test suite (service "service", us-east-1, AKIDEXAMPLE, 2015-08-30T12:36:00Z), one
// directory per case with the raw request (.req), the canonical request (.creq), the
// string to sign (.sts) and the Authorization header (.authz). The path-normalization
// cases (get-relative*, get-slash*) are left out: S3 does not normalize paths.

const (
	suiteAccessKey = "AKIDEXAMPLE"
	suiteSecret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var suiteTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)

// parseSuiteRequest turns a .req file into a server-side request as net/http would
// present it: header values trimmed, Host moved to r.Host, the raw request URI kept.
func parseSuiteRequest(t *testing.T, raw string) (*http.Request, []byte) {
	t.Helper()
	head, body, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(head, "\n")
	method, rest, _ := strings.Cut(lines[0], " ")
	uri := strings.TrimSuffix(rest, " HTTP/1.1")
	p, q, _ := strings.Cut(uri, "?")
	path, err := url.PathUnescape(p)
	if err != nil {
		t.Fatal(err)
	}
	r := &http.Request{
		Method:     method,
		URL:        &url.URL{Path: path, RawQuery: q},
		RequestURI: uri,
		Header:     http.Header{},
		Body:       io.NopCloser(strings.NewReader(body)),
	}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		v = strings.Trim(v, " \t")
		if http.CanonicalHeaderKey(k) == "Host" {
			r.Host = v
			continue
		}
		r.Header.Add(k, v)
	}
	return r, []byte(body)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAWSSigV4TestSuite(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("testdata", "aws-sig-v4-test-suite"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 20 {
		t.Fatalf("only %d vectors", len(dirs))
	}
	v := &Verifier{
		Region: "us-east-1",
		Secret: func(ak string) (string, bool) { return suiteSecret, ak == suiteAccessKey },
		Now:    func() time.Time { return suiteTime },
	}
	for _, d := range dirs {
		name := d.Name()
		t.Run(name, func(t *testing.T) {
			base := filepath.Join("testdata", "aws-sig-v4-test-suite", name, name)
			r, body := parseSuiteRequest(t, readFile(t, base+".req"))
			authz := readFile(t, base+".authz")
			h, err := parseAuthorization(authz)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(body)
			payload := hex.EncodeToString(sum[:])

			creq := canonicalRequest(r, canonicalURIs(r)[0], canonicalQuery(parseQuery(r.URL.RawQuery), ""), h.signed, payload)
			if want := readFile(t, base+".creq"); creq != want {
				t.Fatalf("canonical request\n got %q\nwant %q", creq, want)
			}
			if got, want := stringToSign("20150830T123600Z", h.scope, creq), readFile(t, base+".sts"); got != want {
				t.Fatalf("string to sign\n got %q\nwant %q", got, want)
			}

			// The payload hash travels in x-amz-content-sha256 (unsigned here, as in the suite).
			r.Header.Set("X-Amz-Content-Sha256", payload)
			r.Header.Set("Authorization", authz)
			a, err := v.verify(r, "service")
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			got, err := io.ReadAll(a.Body)
			if err != nil || string(got) != string(body) || a.AccessKey != suiteAccessKey {
				t.Fatalf("body %q, %v, access key %q", got, err, a.AccessKey)
			}

			// Any change to the signature or to a signed part must fail.
			bad := strings.Replace(authz, "Signature=", "Signature=0", 1)
			bad = bad[:len(bad)-1]
			r.Header.Set("Authorization", bad)
			if _, err := v.verify(r, "service"); !errors.Is(err, ErrSignatureDoesNotMatch) {
				t.Fatalf("flipped signature: %v", err)
			}
			r.Header.Set("Authorization", authz)
			r.Method += "X"
			if _, err := v.verify(r, "service"); !errors.Is(err, ErrSignatureDoesNotMatch) {
				t.Fatalf("changed method: %v", err)
			}
			r.Method = strings.TrimSuffix(r.Method, "X")
			r.Host = "other.amazonaws.com"
			if _, err := v.verify(r, "service"); !errors.Is(err, ErrSignatureDoesNotMatch) {
				t.Fatalf("changed host: %v", err)
			}
		})
	}
}
