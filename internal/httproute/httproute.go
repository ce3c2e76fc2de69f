// Package httproute holds the request mechanics every kmsbox server applies per route, so that
// each server's routes.go keeps only its table and its own error mapping:
//
//   - a body limit that fails loudly: [LimitReader] and [LimitBody] return a
//     [*TooLargeError] once a body has more bytes than its route allows, never a silent cut
//     (a cut body looks complete to a parser and hides the rest from any check that runs at
//     the body's end, such as S3's payload hash);
//   - a per-route deadline, [WithTimeout];
//   - a bound on a body that stalls, [IdleBody]: no byte for [DefaultBodyIdle] (or a
//     server's own bound) and the read fails with [ErrBodyIdle];
//   - [ContinueEmpty], the "100 Continue" a body-less request that asked for it gets.
//
// Each server maps [*TooLargeError] to its own wire error with errors.As (S3:
// EntityTooLarge, MaxMessageLengthExceeded or UnexpectedContent; Vault: 413; KES and the
// console: 400).
//
// http.MaxBytesReader would do for the limit, but it needs the server's own
// ResponseWriter to be of any use beyond the error, and s3lite limits the decoded body
// that SigV4 verification returns, not the request's.
package httproute

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TooLargeError is what a limited body returns once it holds more than Limit bytes.
type TooLargeError struct {
	// Limit is the route's body limit in bytes.
	Limit int64
}

func (e *TooLargeError) Error() string {
	return "httproute: request body larger than " + strconv.FormatInt(e.Limit, 10) + " bytes"
}

// LimitReader returns a reader of r that passes at most limit bytes and then fails with a
// [*TooLargeError] if r has more: it reads one byte past limit to tell a body that ends
// exactly at the limit (whose own end-of-body checks then run, e.g. a payload hash) from
// one that goes on. A negative limit is taken as zero. Unlike io.LimitReader it never
// reports io.EOF before r does.
func LimitReader(r io.Reader, limit int64) io.Reader {
	return &limitReader{r: r, left: max(limit, 0), limit: max(limit, 0)}
}

type limitReader struct {
	r     io.Reader
	left  int64 // bytes still allowed
	limit int64
	err   error // sticky
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n = int(l.left)
		err = &TooLargeError{Limit: l.limit}
	}
	l.left -= int64(n)
	if err != nil {
		l.err = err
	}
	return n, err
}

// LimitBody returns a shallow copy of r whose Body fails with a [*TooLargeError] past
// limit bytes (see [LimitReader]); closing it closes r.Body. The limit goes on a copy, not
// on r: net/http must still find its own body on the request it passed to the handler, or
// an early error answer to an "Expect: 100-continue" client waits for a body that client
// never sends.
func LimitBody(r *http.Request, limit int64) *http.Request {
	c := r.WithContext(r.Context())
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	c.Body = limitedBody{Reader: LimitReader(body, limit), Closer: body}
	return c
}

type limitedBody struct {
	io.Reader
	io.Closer
}

// WithTimeout returns r with a context that ends after d, and the function that releases
// it; the caller defers it. d <= 0 means no deadline (streaming routes): r itself and a
// no-op are returned.
func WithTimeout(r *http.Request, d time.Duration) (*http.Request, context.CancelFunc) {
	if d <= 0 {
		return r, func() {}
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	return r.WithContext(ctx), cancel
}

// ContinueEmpty answers "100 Continue" to an "Expect: 100-continue" request without a
// body. net/http sends it only when a handler reads a body, so an empty one would get the
// final answer alone, and botocore (aws cli, boto3) then keeps that status line for the
// connection: its next upload on it misparses and stalls for its 60 s read timeout
// (boto/botocore#3755). S3 answers it; call it before anything is written.
func ContinueEmpty(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 && r.ProtoAtLeast(1, 1) && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		w.WriteHeader(http.StatusContinue)
	}
}
