package s3lite

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmsbox/kmsbox/s3lite/internal/sigv4"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestErrorTable pins code, status and message of every sentinel.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, e := range errorTable {
		a := toAPIError(e.err)
		fmt.Fprintf(&b, "%-48s %d %s\n", a.Code, a.Status, a.Message)
	}
	golden(t, "errors.golden", []byte(b.String()))
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		code string
		st   int
	}{
		{"wrapped sentinel", fmt.Errorf("ctx: %w", errNoSuchKey), "NoSuchKey", 404},
		{"custom message", withMsg(errInvalidArgument, "bad"), "InvalidArgument", 400},
		{"kms not found passes through", kmsErr(errKMSGenerate, fmt.Errorf("x: %w", ErrKMSKeyNotFound)), "kms:KeyNotFound", 404},
		{"kms unavailable on generate", kmsErr(errKMSGenerate, ErrKMSUnavailable), "kms:KeyGenerationFailed", 500},
		{"kms unavailable on decrypt", kmsErr(errKMSDecrypt, ErrKMSUnavailable), "kms:DecryptionFailed", 500},
		{"sigv4 in body read", errors.Join(io.ErrUnexpectedEOF, sigv4.ErrIncompleteBody), "IncompleteBody", 400},
		{"unknown", errors.New("disk on fire"), "InternalError", 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := toAPIError(tc.err)
			if a.Code != tc.code || a.Status != tc.st {
				t.Errorf("got %s %d, want %s %d", a.Code, a.Status, tc.code, tc.st)
			}
		})
	}
	if a := toAPIError(withMsg(errInvalidArgument, "bad")); a.Message != "bad" {
		t.Errorf("message %q", a.Message)
	}
}

// TestErrorXML pins the wire body of an S3 error.
func TestErrorXML(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rec := httptest.NewRecorder()
	rec.Header().Set("x-amz-request-id", "0123456789ABCDEF")
	req := httptest.NewRequest(http.MethodGet, "/bucket/some/key", nil)
	s.writeError(rec, req, errNoSuchKey)
	if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/xml" {
		t.Errorf("status %d type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	golden(t, "error-nosuchkey.xml", rec.Body.Bytes())
	rec = httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest(http.MethodHead, "/bucket/k", nil), errNoSuchKey)
	if rec.Code != 404 || rec.Body.Len() != 0 {
		t.Errorf("HEAD error: %d with %d body bytes", rec.Code, rec.Body.Len())
	}
}
