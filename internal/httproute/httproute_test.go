package httproute

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// errAtEOF stands for a check that runs at the end of a body (a payload hash): it
// reports errCheck instead of io.EOF.
type errAtEOF struct{ r io.Reader }

var errCheck = errors.New("end-of-body check")

func (e errAtEOF) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = errCheck
	}
	return n, err
}

func TestLimitReader(t *testing.T) {
	const limit = 100
	wraps := map[string]func(io.Reader) io.Reader{
		"plain":      func(r io.Reader) io.Reader { return r },
		"one byte":   iotest.OneByteReader,
		"half reads": iotest.HalfReader,
		"data+EOF":   iotest.DataErrReader,
	}
	for _, size := range []int{0, 1, limit - 1, limit, limit + 1, 3*limit + 7} {
		for name, wrap := range wraps {
			for _, bufSize := range []int{1, 7, limit, 4096} {
				src := bytes.Repeat([]byte{'a'}, size)
				r := LimitReader(wrap(bytes.NewReader(src)), limit)
				got, err := readAll(r, bufSize)
				over := size > limit
				var tl *TooLargeError
				switch {
				case over && (!errors.As(err, &tl) || tl.Limit != limit):
					t.Errorf("%d bytes, %s, %d-byte reads: err %v, want a TooLargeError of limit %d", size, name, bufSize, err, limit)
				case !over && err != nil:
					t.Errorf("%d bytes, %s, %d-byte reads: err %v", size, name, bufSize, err)
				case len(got) != min(size, limit):
					t.Errorf("%d bytes, %s, %d-byte reads: %d bytes passed, want %d", size, name, bufSize, len(got), min(size, limit))
				}
				if _, again := r.Read(make([]byte, 8)); over && !errors.As(again, &tl) || !over && again != io.EOF {
					t.Errorf("%d bytes, %s: read after the end = %v", size, name, again)
				}
			}
		}
	}
}

// readAll reads r to its end in reads of bufSize bytes; io.EOF is no error.
func readAll(r io.Reader, bufSize int) ([]byte, error) {
	var out []byte
	buf := make([]byte, bufSize)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// TestLimitReaderEndCheck: a body of exactly the limit is read to its real end, so a check
// that runs there still runs; past the limit the body fails before that check.
func TestLimitReaderEndCheck(t *testing.T) {
	for _, tc := range []struct {
		size int
		want error
	}{{0, errCheck}, {10, errCheck}, {11, nil}} {
		_, err := io.ReadAll(LimitReader(errAtEOF{strings.NewReader(strings.Repeat("x", tc.size))}, 10))
		var tl *TooLargeError
		if tc.want != nil && !errors.Is(err, tc.want) || tc.want == nil && !errors.As(err, &tl) {
			t.Errorf("%d bytes: %v", tc.size, err)
		}
	}
	if _, err := io.ReadAll(LimitReader(strings.NewReader("x"), -5)); err == nil {
		t.Error("negative limit took a byte")
	}
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestLimitBody(t *testing.T) {
	body := &closeCounter{Reader: strings.NewReader("0123456789")}
	r := httptest.NewRequest(http.MethodPut, "/x", nil)
	r.Body = body
	c := LimitBody(r, 4)
	if r.Body != body {
		t.Fatal("LimitBody changed the original request")
	}
	got, err := io.ReadAll(c.Body)
	var tl *TooLargeError
	if string(got) != "0123" || !errors.As(err, &tl) {
		t.Errorf("read %q, %v", got, err)
	}
	if err := c.Body.Close(); err != nil || body.closed != 1 {
		t.Errorf("close: %v, closed %d times", err, body.closed)
	}
	r.Body = nil
	if got, err := io.ReadAll(LimitBody(r, 4).Body); err != nil || len(got) != 0 {
		t.Errorf("nil body: %q, %v", got, err)
	}
}

func TestWithTimeout(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	same, cancel := WithTimeout(r, 0)
	cancel()
	if same != r {
		t.Error("zero timeout made a new request")
	}
	timed, cancel := WithTimeout(r, time.Hour)
	deadline, ok := timed.Context().Deadline()
	if !ok || time.Until(deadline) > time.Hour {
		t.Errorf("deadline %v, %v", deadline, ok)
	}
	cancel()
	if timed.Context().Err() == nil {
		t.Error("cancel did not end the context")
	}
	if r.Context().Err() != nil {
		t.Error("the original request's context ended")
	}
}

// codeRecorder records every status written, 1xx included.
type codeRecorder struct {
	http.ResponseWriter
	codes []int
}

func (c *codeRecorder) WriteHeader(code int) { c.codes = append(c.codes, code) }

func TestContinueEmpty(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expect string
		length int64
		proto  int
		want   bool
	}{
		{"empty body", "100-continue", 0, 1, true},
		{"any case", "100-Continue", 0, 1, true},
		{"with body", "100-continue", 5, 1, false},
		{"unknown length", "100-continue", -1, 1, false},
		{"no expect", "", 0, 1, false},
		{"HTTP/1.0", "100-continue", 0, 0, false},
	} {
		r := httptest.NewRequest(http.MethodPut, "/", nil)
		r.ContentLength, r.ProtoMinor = tc.length, tc.proto
		if tc.expect != "" {
			r.Header.Set("Expect", tc.expect)
		}
		w := &codeRecorder{ResponseWriter: httptest.NewRecorder()}
		ContinueEmpty(w, r)
		if got := len(w.codes) == 1 && w.codes[0] == http.StatusContinue; got != tc.want || len(w.codes) > 1 {
			t.Errorf("%s: wrote %v", tc.name, w.codes)
		}
	}
}
