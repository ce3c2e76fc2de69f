package embeddedvault

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBodyIdle: a request body that stalls is cut off after Config.BodyIdle with a 400;
// one that trickles in under the bound is decoded.
func TestBodyIdle(t *testing.T) {
	const idle = 300 * time.Millisecond
	cfg := testConfig(t)
	cfg.BodyIdle = idle
	tv := startVault(t, cfg)
	put := func(size int, write func(*io.PipeWriter)) (int, string) {
		pr, pw := io.Pipe()
		go write(pw)
		defer pw.CloseWithError(errors.New("test done"))
		req, err := http.NewRequest(http.MethodPut, tv.http.URL+"/v1/sys/init", pr)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(size)
		c := tv.http.Client()
		c.Timeout = 20 * time.Second
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	stop := make(chan struct{})
	code, body := put(40, func(pw *io.PipeWriter) {
		_, _ = pw.Write([]byte(`{"secret_`))
		<-stop
	})
	close(stop)
	if code != http.StatusBadRequest || !strings.Contains(body, "no request body data within the idle bound") {
		t.Errorf("stalled body: %d %s", code, body)
	}

	init := `{"secret_shares":1,"secret_threshold":1}`
	code, body = put(len(init), func(pw *io.PipeWriter) {
		for i := range len(init) {
			if _, err := pw.Write([]byte{init[i]}); err != nil {
				return
			}
			time.Sleep(idle / 20) // a slow client: the behaviour under test
		}
		pw.Close()
	})
	if code != http.StatusOK || !strings.Contains(body, "root_token") {
		t.Errorf("trickled body: %d %s", code, body)
	}
}
