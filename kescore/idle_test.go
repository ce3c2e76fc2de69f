package kescore

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBodyIdle: a request body that stalls is cut off after Config.BodyIdle with KES's 400
// for an invalid body, over the h2 connection the real client uses.
func TestBodyIdle(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BodyIdle = 200 * time.Millisecond })
	if err := e.srv.CreateKey(ctx(t), "k1"); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	go func() {
		_, _ = pw.Write([]byte(`{"context":`))
		<-stop
		pw.CloseWithError(errors.New("test done"))
	}()
	defer close(stop)
	req, err := http.NewRequest(http.MethodPost, e.url+"/v1/key/generate/k1", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 40
	c := e.httpClient(e.admin)
	c.Timeout = 20 * time.Second
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid request body") {
		t.Errorf("stalled body: %d %s", resp.StatusCode, body)
	}
}
