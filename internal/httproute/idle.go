package httproute

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// DefaultBodyIdle is how long a request body may go without a byte before the server gives up
// on it, when a server's Config leaves its bound at zero. ReadHeaderTimeout bounds only the
// headers; without this a client that stalls mid-body would hold its connection (and the
// handler's goroutine, file and KMS work) forever. 30 s is far beyond any pause of a working
// client on a working network, and a slow client that keeps sending never hits it.
const DefaultBodyIdle = 30 * time.Second

// ErrBodyIdle is what a body under [IdleBody] returns (wrapped, with the network's own
// timeout error) once the client has sent no byte for the idle bound. Each server maps it to
// its own wire error (S3: RequestTimeout; Vault, KES and the console: 400).
var ErrBodyIdle = errors.New("httproute: no request body data within the idle bound")

// IdleBody returns r with a Body that the connection cuts off once the client sends no byte
// for idle: before a read of the body finds less than idle/2 left, it moves the connection's
// read deadline (HTTP/1.1: the connection; HTTP/2: the stream) idle into the future, so a
// client gets between idle/2 and idle, and a slow handler between reads is never taken for a
// slow client. A read that hits the deadline fails with [ErrBodyIdle]. idle == 0 means
// [DefaultBodyIdle]; idle < 0 turns the bound off.
//
// Like [LimitBody] it works on a shallow copy: net/http keeps its own body on r. A request
// without a body, or a ResponseWriter that has no read deadline (httptest's recorder), gets
// r back unchanged. Once the body has ended or failed, the deadline is never touched again:
// net/http then reads the connection in the background to notice a client that goes away,
// and a deadline there would cancel the request's context.
func IdleBody(w http.ResponseWriter, r *http.Request, idle time.Duration) *http.Request {
	if idle == 0 {
		idle = DefaultBodyIdle
	}
	if idle < 0 || r.Body == nil || r.Body == http.NoBody {
		return r
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		return r
	}
	c := r.WithContext(r.Context())
	c.Body = &idleBody{body: r.Body, rc: rc, idle: idle}
	return c
}

type idleBody struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	idle     time.Duration
	deadline time.Time // the connection's read deadline as last set
	done     bool      // the body ended or failed: leave the deadline alone
	err      error     // sticky ErrBodyIdle
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return b.body.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	// The deadline moves only once less than half the bound is left: moving
	// it costs a timer update (two per 16 KiB TLS record was 1.3 % of an
	// upload's CPU), and between reads a handler meets no deadline anyway,
	// since nothing else reads the connection while the body is unread.
	if now := time.Now(); b.deadline.Sub(now) < b.idle/2 {
		b.deadline = now.Add(b.idle)
		_ = b.rc.SetReadDeadline(b.deadline)
	}
	n, err := b.body.Read(p)
	if err != nil {
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("%w (%s): %w", ErrBodyIdle, b.idle, err)
			b.err = err
		}
		return n, err
	}
	return n, nil
}

func (b *idleBody) Close() error { return b.body.Close() }
