package vaultstore

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/kmsbox/kmsbox/kescore"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// recorder logs the requests that pass through it: method, path, query and
// JSON body, with the AppRole credentials masked.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	log  []string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	line := req.Method + " " + req.URL.Path
	if q := req.URL.Query(); len(q) > 0 {
		line += "?" + q.Encode()
	}
	if len(bytes.TrimSpace(body)) > 0 {
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			for _, k := range []string{"role_id", "secret_id"} {
				if _, ok := m[k]; ok {
					m[k] = strings.ToUpper(k)
				}
			}
			body, _ = json.Marshal(m)
		}
		line += " " + string(body)
	}
	if req.Header.Get("X-Vault-Token") != "" {
		line += " [token]"
	}
	r.mu.Lock()
	r.log = append(r.log, line)
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := slices.Clone(r.log)
	r.log = nil
	return l
}

// TestWireCalls pins the HTTP calls the store makes for each operation to
// those of real KES's Vault key store (vault-api.md section 8). Run with
// -update to regenerate testdata/calls-*.golden.
func TestWireCalls(t *testing.T) {
	for _, version := range []string{KVv1, KVv2} {
		t.Run(version, func(t *testing.T) {
			v := startVault(t)
			engine := "kv"
			if version == KVv2 {
				engine = "kv2"
				must(t, v.root.Sys().MountWithContext(t.Context(), "kv2", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}))
			}
			role := v.appRole(t, "kes-role", "5m", "minio-key-policy")

			rec := &recorder{next: v.ev.Handler()}
			srv := httptest.NewUnstartedServer(rec)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.StartTLS()
			t.Cleanup(srv.Close)
			ca := filepath.Join(t.TempDir(), "ca.pem")
			must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))

			ctx := t.Context()
			s, err := Connect(ctx, Config{Endpoint: srv.URL, CAFile: ca, Engine: engine, Version: version, Prefix: "minio", AppRole: role, hooks: &hooks{}})
			must(t, err)
			t.Cleanup(func() { must(t, s.Close()) })

			var out bytes.Buffer
			step := func(name string, fn func()) {
				fn()
				out.WriteString("# " + name + "\n")
				for _, l := range rec.take() {
					out.WriteString(l + "\n")
				}
			}
			step("connect", func() {})
			step("status", func() { _, _ = s.Status(ctx) })
			step("create", func() { must(t, s.Create(ctx, "minio-key-1", []byte(value))) })
			step("create existing", func() { _ = s.Create(ctx, "minio-key-1", []byte(value)) })
			step("get", func() { _, _ = s.Get(ctx, "minio-key-1") })
			step("get missing", func() { _, _ = s.Get(ctx, "nope") })
			step("list", func() { _, _ = s.List(ctx, "minio-") })
			step("delete", func() { must(t, s.Delete(ctx, "minio-key-1")) })

			golden := filepath.Join("testdata", "calls-"+version+".golden")
			if *update {
				must(t, os.WriteFile(golden, out.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			must(t, err)
			if got := out.String(); got != string(want) {
				t.Errorf("calls differ from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
			}
			if strings.Contains(out.String(), role.Secret) {
				t.Error("secret_id leaked into the recording")
			}
		})
	}
}

// TestStatusHealthStates: Status maps Vault's sys/health answer as KES does:
// a sealed or uninitialized Vault is not reachable (KES's /v1/ready 504), a
// standby serves, and an error answer makes the store unavailable.
func TestStatusHealthStates(t *testing.T) {
	v := startVault(t)
	role := v.appRole(t, "kes-role", "5m", "minio-key-policy")
	var health struct {
		sync.Mutex
		status int
		body   string
	}
	inner := v.ev.Handler()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		health.Lock()
		status, body := health.status, health.body
		health.Unlock()
		if r.URL.Path == "/v1/sys/health" && status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	ctx := t.Context()
	s, err := Connect(ctx, Config{Endpoint: srv.URL, CAFile: ca, Engine: "kv", AppRole: role, hooks: &hooks{}})
	must(t, err)
	t.Cleanup(func() { must(t, s.Close()) })

	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error // nil: ready
	}{
		{"sealed", 299, `{"initialized":true,"sealed":true,"standby":true}`, kescore.ErrStoreUnreachable},
		{"not initialized", 299, `{"initialized":false,"sealed":true,"standby":true}`, kescore.ErrStoreUnreachable},
		{"standby", 299, `{"initialized":true,"sealed":false,"standby":true}`, nil},
		{"active", 200, `{"initialized":true,"sealed":false,"standby":false}`, nil},
		{"error", 500, `{"errors":["internal error"]}`, kescore.ErrStoreUnavailable},
	} {
		health.Lock()
		health.status, health.body = tc.status, tc.body
		health.Unlock()
		latency, err := s.Status(ctx)
		switch {
		case tc.want == nil && (err != nil || latency <= 0):
			t.Errorf("%s: Status = %v, %v; want ready with a latency", tc.name, latency, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: Status = %v; want %v", tc.name, err, tc.want)
		case errors.Is(tc.want, kescore.ErrStoreUnreachable) && errors.Is(err, kescore.ErrStoreUnavailable):
			t.Errorf("%s: Status = %v; want only %v", tc.name, err, tc.want)
		}
	}
}
