//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStartBecomesReady checks the path that BenchmarkStartToReady measures: a start in a
// fresh data dir and a start in the data dir it left both become ready (all three health
// endpoints answer 200) within readyTimeout, and each logs msg=ready with its in-process open
// time. It times nothing: the speed goal lives in the benchmark.
func TestStartBecomesReady(t *testing.T) {
	kmsboxBin(t)
	dir := filepath.Join(t.TempDir(), "data")
	for _, name := range []string{"fresh", "existing"} {
		if _, open := measureStart(t, dir); open < 0 {
			t.Errorf("%s data dir: no msg=ready log line with a took", name)
		}
	}
}

// BenchmarkStartToReady measures the time from process start until all three health endpoints
// answer 200 (Vault /v1/sys/health, KES /v1/status, S3 /minio/health/ready), for a fresh data
// dir and an existing one, as ms/op; open-ms/op is the in-process open time the server logs.
// The goal: under 100 ms with an existing data dir. `make bench` runs it.
func BenchmarkStartToReady(b *testing.B) {
	kmsboxBin(b)
	b.Run("fresh", func(b *testing.B) {
		benchStarts(b, func() string { return filepath.Join(b.TempDir(), "data") })
	})
	b.Run("existing", func(b *testing.B) {
		dir := filepath.Join(b.TempDir(), "data")
		measureStart(b, dir) // makes the data dir
		benchStarts(b, func() string { return dir })
	})
}

// benchStarts measures one start a loop iteration in the data dir that dataDir returns and
// reports the mean start-to-ready and open times in place of ns/op, which would count the
// server's stop as well.
func benchStarts(b *testing.B, dataDir func() string) {
	var ready, open time.Duration
	n := 0
	for b.Loop() {
		r, o := measureStart(b, dataDir())
		if o < 0 {
			b.Fatal("no msg=ready log line with a took")
		}
		ready, open, n = ready+r, open+o, n+1
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(ready.Microseconds())/1000/float64(n), "ms/op")
	b.ReportMetric(float64(open.Microseconds())/1000/float64(n), "open-ms/op")
}

// measureStart starts a dev server in dataDir and polls the three health endpoints in a tight
// loop (250 ms per try) until each has answered 200. It returns the time from process start and
// the in-process open time the server logged with msg=ready (-1 without such a line), then
// stops the server.
func measureStart(t testing.TB, dataDir string) (startToReady, open time.Duration) {
	t.Helper()
	p := spawn(t, serverArgs(dataDir))
	deadline := p.started.Add(readyTimeout)

	probes := map[string]string{"vault": "/v1/sys/health", "kes": "/v1/status", "s3": "/minio/health/ready"}
	ok := map[string]bool{}
	var client *http.Client
	for len(ok) < len(probes) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready %v after start (ready: %v)\nstderr:\n%s", readyTimeout, ok, p.stderr)
		}
		select {
		case <-p.exited:
			t.Fatalf("kmsbox exited with code %d before it was ready\nstderr:\n%s", p.exitCode, p.stderr)
		default:
		}
		if client == nil {
			client = probeClient(dataDir)
			if client == nil {
				time.Sleep(time.Millisecond)
				continue
			}
		}
		urls := listenURLs(p)
		progressed := false
		for name, path := range probes {
			if ok[name] || urls[name] == "" {
				continue
			}
			resp, err := client.Get(urls[name] + path)
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ok[name] = true
				progressed = true
			}
		}
		if !progressed && len(ok) < len(probes) {
			time.Sleep(time.Millisecond)
		}
	}
	startToReady = time.Since(p.started)
	client.CloseIdleConnections()

	open = -1
	for _, l := range p.stderr.snapshot() {
		if f := parseLogfmt(l); f["msg"] == "ready" {
			if d, err := time.ParseDuration(f["took"]); err == nil {
				open = d
			}
		}
	}
	p.mustStop(t)
	return startToReady, open
}

// probeClient returns a client trusting the data dir's CA and presenting the dev admin
// certificate (KES /v1/status needs an identity), or nil while those files do not exist yet.
func probeClient(dataDir string) *http.Client {
	dir := filepath.Join(dataDir, "certs")
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil
	}
	admin, err := tls.LoadX509KeyPair(filepath.Join(dir, "admin.crt"), filepath.Join(dir, "admin.key"))
	if err != nil {
		return nil
	}
	return &http.Client{
		Timeout: 250 * time.Millisecond,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pool, Certificates: []tls.Certificate{admin}, MinVersion: tls.VersionTLS12,
		}},
	}
}

// listenURLs returns the URLs the process has logged so far.
func listenURLs(p *proc) map[string]string {
	urls := map[string]string{}
	for _, l := range p.stderr.snapshot() {
		if f := parseLogfmt(l); f["msg"] == "listening" {
			urls[f["server"]] = f["url"]
		}
	}
	return urls
}
