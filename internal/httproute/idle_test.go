package httproute

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// idleServers starts the same handler over HTTP/1.1 and HTTP/2: it reads the body under
// IdleBody(idle), pausing pause between reads of step bytes, and answers 200 with the byte
// count, 408 on ErrBodyIdle, 500 on anything else.
func idleServers(t *testing.T, idle, pause time.Duration, step int) map[string]*httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = IdleBody(w, r, idle)
		buf := make([]byte, step)
		total := 0
		for {
			n, err := r.Body.Read(buf)
			total += n
			if err == io.EOF {
				break
			}
			if err != nil {
				code := http.StatusInternalServerError
				if errors.Is(err, ErrBodyIdle) {
					code = http.StatusRequestTimeout
				}
				http.Error(w, err.Error(), code)
				return
			}
			if pause > 0 {
				time.Sleep(pause) // a slow handler between reads: the behaviour under test
			}
		}
		fmt.Fprint(w, total)
	})
	h1 := httptest.NewServer(h)
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h1.Close)
	t.Cleanup(h2.Close)
	return map[string]*httptest.Server{"HTTP/1.1": h1, "HTTP/2": h2}
}

// send PUTs a body that writes its bytes through write and waits for the answer at most 20 s.
func send(t *testing.T, srv *httptest.Server, size int, write func(*io.PipeWriter)) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	go write(pw)
	req, err := http.NewRequest(http.MethodPut, srv.URL, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(size)
	c := srv.Client()
	c.Timeout = 20 * time.Second
	resp, err := c.Do(req)
	pw.CloseWithError(errors.New("test done"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

func TestIdleBodyStall(t *testing.T) {
	for proto, srv := range idleServers(t, 200*time.Millisecond, 0, 64) {
		t.Run(proto, func(t *testing.T) {
			stop := make(chan struct{})
			defer close(stop)
			code, body := send(t, srv, 10, func(pw *io.PipeWriter) {
				_, _ = pw.Write([]byte("abc"))
				<-stop // then nothing: the client stalls mid-body
			})
			if code != http.StatusRequestTimeout || !strings.Contains(body, ErrBodyIdle.Error()) {
				t.Errorf("stalled body: %d %q, want 408 with ErrBodyIdle", code, body)
			}
		})
	}
}

func TestIdleBodyTrickle(t *testing.T) {
	const idle, size = 300 * time.Millisecond, 25
	for proto, srv := range idleServers(t, idle, 0, 64) {
		t.Run(proto, func(t *testing.T) {
			start := time.Now()
			code, body := send(t, srv, size, func(pw *io.PipeWriter) {
				for range size {
					if _, err := pw.Write([]byte{'x'}); err != nil {
						return
					}
					time.Sleep(idle / 10) // a slow client: one byte, then a pause
				}
				pw.Close()
			})
			if code != http.StatusOK || body != fmt.Sprint(size) {
				t.Errorf("trickled body: %d %q", code, body)
			}
			if took := time.Since(start); took < 2*idle {
				t.Errorf("the trickle took %s, not longer than the idle bound: the test proves nothing", took)
			}
		})
	}
}

// TestIdleBodySlowHandler: a handler that pauses between reads longer than the bound is not
// a stalled client; the deadline runs only while a read waits.
func TestIdleBodySlowHandler(t *testing.T) {
	const idle = 100 * time.Millisecond
	for proto, srv := range idleServers(t, idle, 3*idle, 4) {
		t.Run(proto, func(t *testing.T) {
			code, body := send(t, srv, 10, func(pw *io.PipeWriter) {
				_, _ = pw.Write([]byte("0123456789"))
				pw.Close()
			})
			if code != http.StatusOK || body != "10" {
				t.Errorf("slow handler: %d %q", code, body)
			}
		})
	}
}

func TestIdleBodyPassThrough(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPut, "/", strings.NewReader("x"))
	if IdleBody(rec, r, time.Second) != r {
		t.Error("a writer without deadlines got a wrapped body")
	}
	if IdleBody(rec, httptest.NewRequest(http.MethodGet, "/", nil), 0).Body != http.NoBody {
		t.Error("an empty body was wrapped")
	}
}
