package s3lite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// putPiped PUTs bucket/key with a body of size bytes that write produces, and returns the
// answer's status and body.
func putPiped(t *testing.T, e *env, bucket, key string, size int, write func(*io.PipeWriter)) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	go write(pw)
	defer pw.CloseWithError(errors.New("test done"))
	req, err := http.NewRequest(http.MethodPut, e.ts.URL+"/"+bucket+"/"+key, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(size)
	code, body := e.doSigned(t, req)
	return code, string(body)
}

// TestBodyIdle: an upload whose client stops sending mid-body is cut off after the idle bound
// with RequestTimeout and leaves no object; one that trickles, pausing between bytes but
// never for the bound, is stored whole.
func TestBodyIdle(t *testing.T) {
	const idle = 300 * time.Millisecond
	e := newEnv(t, func(c *Config) { c.BodyIdle = idle })
	b := e.bucket("idle")

	stop := make(chan struct{})
	code, body := putPiped(t, e, b, "stalled", 10, func(pw *io.PipeWriter) {
		_, _ = pw.Write([]byte("abc"))
		<-stop
	})
	close(stop)
	if code != http.StatusBadRequest || !strings.Contains(body, "<Code>RequestTimeout</Code>") ||
		!strings.Contains(body, "not read from or written to within the timeout period") {
		t.Errorf("stalled upload: %d %s", code, body)
	}
	if _, err := e.mc.StatObject(context.Background(), b, "stalled", minio.StatObjectOptions{}); s3Code(err) != "NoSuchKey" {
		t.Errorf("stalled upload left an object: %v", err)
	}

	want := randBytes(25)
	start := time.Now()
	code, body = putPiped(t, e, b, "trickled", len(want), func(pw *io.PipeWriter) {
		for _, c := range want {
			if _, err := pw.Write([]byte{c}); err != nil {
				return
			}
			time.Sleep(idle / 10) // a slow client: the behaviour under test
		}
		pw.Close()
	})
	if code != http.StatusOK {
		t.Fatalf("trickled upload: %d %s", code, body)
	}
	if took := time.Since(start); took < 2*idle {
		t.Errorf("the trickle took only %s: the test proves nothing", took)
	}
	obj, err := e.mc.GetObject(context.Background(), b, "trickled", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("trickled object reads back %d bytes, %v", len(got), err)
	}
}
