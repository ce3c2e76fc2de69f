package embeddedvault

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/hashicorp/vault/api"
	bolt "go.etcd.io/bbolt"
)

// testVault is a Server behind a real TLS listener on 127.0.0.1:0.
type testVault struct {
	t    *testing.T
	cfg  Config
	srv  *Server
	http *httptest.Server
}

func testConfig(t *testing.T) Config {
	t.Helper()
	return Config{Path: filepath.Join(t.TempDir(), "vault.db"), Logger: slog.New(slog.DiscardHandler)}
}

// startVault opens cfg and serves it over TLS; both stop at test cleanup.
func startVault(t *testing.T, cfg Config) *testVault {
	t.Helper()
	srv, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	tv := &testVault{t: t, cfg: cfg, srv: srv, http: newTLSServer(srv.Handler())}
	t.Cleanup(tv.stop)
	return tv
}

// newTLSServer serves h over TLS on 127.0.0.1:0.
func newTLSServer(h http.Handler) *httptest.Server {
	hs := httptest.NewUnstartedServer(h)
	hs.StartTLS()
	return hs
}

// stop closes the listener and the store and checks bbolt consistency.
func (tv *testVault) stop() {
	if tv.http == nil {
		return
	}
	tv.http.Close()
	if err := tv.srv.Close(); err != nil {
		tv.t.Errorf("Close: %v", err)
	}
	tv.http = nil
	db, err := bolt.Open(tv.cfg.Path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		tv.t.Errorf("reopen for check: %v", err)
		return
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		tv.t.Errorf("bbolt check: %v", err)
	}
}

// client returns a vault/api client trusting the test certificate, with
// retries off so that 5xx answers surface at once.
func (tv *testVault) client(token string) *api.Client {
	tv.t.Helper()
	conf := api.DefaultConfig()
	conf.Address = tv.http.URL
	conf.HttpClient = tv.http.Client()
	conf.MaxRetries = 0
	c, err := api.NewClient(conf)
	if err != nil {
		tv.t.Fatalf("api.NewClient: %v", err)
	}
	c.SetToken(token)
	return c
}

// initUnseal runs sys/init with n/t and unseals with the first t base64
// shares; it returns the init response.
func (tv *testVault) initUnseal(n, th int) *api.InitResponse {
	tv.t.Helper()
	c := tv.client("")
	res, err := c.Sys().Init(&api.InitRequest{SecretShares: n, SecretThreshold: th})
	if err != nil {
		tv.t.Fatalf("init: %v", err)
	}
	for _, k := range res.KeysB64[:th] {
		if _, err := c.Sys().Unseal(k); err != nil {
			tv.t.Fatalf("unseal: %v", err)
		}
	}
	if tv.srv.Sealed() {
		tv.t.Fatal("still sealed after threshold shares")
	}
	return res
}
