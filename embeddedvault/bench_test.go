package embeddedvault

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/vault/api"
)

// BenchmarkKVv1 measures KV v1 writes and reads through vault/api over TLS
// with 16 concurrent clients.
func BenchmarkKVv1(b *testing.B) {
	cfg := Config{Path: b.TempDir() + "/vault.db"}
	srv, err := Open(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	tv := &testVault{cfg: cfg, srv: srv}
	tv.http = newTLSServer(srv.Handler())
	defer tv.http.Close()
	conf := api.DefaultConfig()
	conf.Address = tv.http.URL
	conf.HttpClient = tv.http.Client()
	conf.HttpClient.Transport.(*http.Transport).MaxIdleConnsPerHost = 32
	conf.MaxRetries = 0
	c, err := api.NewClient(conf)
	if err != nil {
		b.Fatal(err)
	}
	res, err := c.Sys().Init(&api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Sys().Unseal(res.KeysB64[0]); err != nil {
		b.Fatal(err)
	}
	c.SetToken(res.RootToken)
	if err := c.Sys().Mount("kv", &api.MountInput{Type: "kv"}); err != nil {
		b.Fatal(err)
	}
	const concurrency = 16
	var seq atomic.Int64
	value := map[string]any{"key": "dGhpcyBpcyBhIDMyIGJ5dGUga2V5IGZvciBiZW5jaGVz"}
	b.Run("write", func(b *testing.B) {
		b.SetParallelism((concurrency + 1) / 2)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Logical().Write(fmt.Sprintf("kv/bench/%d", seq.Add(1)), value); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	n := max(seq.Load(), 1)
	b.Run("read", func(b *testing.B) {
		b.SetParallelism((concurrency + 1) / 2)
		var i atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := i.Add(1)%n + 1
				s, err := c.Logical().Read(fmt.Sprintf("kv/bench/%d", k))
				if err != nil || s == nil {
					b.Errorf("read %d: %v", k, err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}
