package s3lite

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// overwriteOnHeader is a ResponseWriter that, when the response starts,
// replaces the object being read and removes its old bodies: a concurrent
// overwrite landing while a long GET streams.
type overwriteOnHeader struct {
	*httptest.ResponseRecorder
	headers   int
	overwrite func()
}

func (w *overwriteOnHeader) WriteHeader(code int) {
	w.headers++
	if w.headers == 1 {
		w.overwrite()
	}
	w.ResponseRecorder.WriteHeader(code)
}

// TestReadOverwrittenWhileStreaming checks that a GET whose later part files
// vanish after the headers are out fails (the connection is then aborted)
// instead of starting over with the new object's bytes appended to the old.
func TestReadOverwrittenWhileStreaming(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.bucket("streaming")
	const nParts, partSize = maxPreopen + 44, 1024 // more parts than preopen holds, more bytes than one chunk
	if nParts*partSize <= chunkSize {
		t.Fatal("object must outlast the first chunk")
	}
	put := func(fill byte) ([]byte, []string) {
		data := bytes.Repeat([]byte{fill}, nParts*partSize)
		old := e.forgeMultipart(t, b, "k", data, partSize, "etag-"+string(fill))
		return data, old
	}
	oldData, _ := put('a')
	w := &overwriteOnHeader{ResponseRecorder: httptest.NewRecorder()}
	w.overwrite = func() {
		_, old := put('b')
		e.srv.st.removeFiles(old)
		e.srv.st.settle()
	}
	q := &request{r: httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/streaming/k", nil), bucket: b, key: "k"}
	err := e.srv.readObject(w, q, true)
	if err == nil {
		t.Fatal("read succeeded although its part files were removed mid-stream")
	}
	if w.headers != 1 {
		t.Errorf("response started %d times", w.headers)
	}
	if got := w.Body.Bytes(); len(got) >= len(oldData) || !bytes.Equal(got, oldData[:len(got)]) {
		t.Errorf("body: %d bytes, not a strict prefix of the old object (%d bytes)", len(got), len(oldData))
	}
}
