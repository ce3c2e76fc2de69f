package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A page whose template fails is a clean 500, logged, with no part of the page.
func TestRenderFailure(t *testing.T) {
	tc := newTestConsole(t, 0)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "https://console.test/objects/b/k", nil)
	tc.srv.render(rec, req, http.StatusOK, "chain.html", struct{ Title string }{"no chain here"})
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	if body := rec.Body.String(); body != "template error\n" {
		t.Errorf("body %q, want only \"template error\"", body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	if logs := tc.logs.String(); !strings.Contains(logs, `level=WARN msg="console template failed" page=chain.html`) {
		t.Errorf("the failure was not logged at Warn:\n%s", logs)
	}
}

// A value JSON cannot encode is a 500 with the API's error body, not a broken document.
func TestWriteJSONFailure(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, map[string]any{"x": make(chan int)})
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var e map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e) != 1 || !strings.Contains(e["error"], "unsupported type") {
		t.Errorf("body %q (%v), want {\"error\": \"json: unsupported type...\"}", rec.Body, err)
	}
}

// A Source failure on the API's status is a 500 with the error's text, logged at Warn.
func TestAPIStatusFailure(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()
	tc.src.mu.Lock()
	tc.src.statusErr = fmt.Errorf("vault: %w", errDiskOnFire)
	tc.src.mu.Unlock()
	r := tc.get("/api/v1/status")
	wantStatus(t, r, http.StatusInternalServerError)
	var e map[string]string
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || len(e) != 1 || e["error"] != "vault: "+errDiskOnFire.Error() {
		t.Errorf("body %q (%v)", r.body, err)
	}
	if logs := tc.logs.String(); !strings.Contains(logs, `msg="console request failed" method=GET path=/api/v1/status status=500`) {
		t.Errorf("the 500 was not logged:\n%s", logs)
	}
}
