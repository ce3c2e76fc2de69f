package appliance

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"testing"
)

// The CA is served unauthenticated on every port and equals the exported ca.crt, which
// `kmsbox cert ca` prints. The KES port asks for a client certificate in the handshake (as
// KES does), so there any certificate will do; the others need none.
func TestCAOnEveryPort(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAppliance(t, Config{DataDir: dir, Dev: true, VaultAddr: "127.0.0.1:0", KESAddr: "127.0.0.1:0",
		S3Addr: "127.0.0.1:0", ConsoleAddr: "127.0.0.1:0"})
	want := mustRead(t, a.CAFile())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(want)
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	withCert := caClient(t, a.CAFile(), adminCert(t, dir))
	for _, name := range []string{"vault", "kes", "s3", "console"} {
		c := anon
		if name == "kes" {
			c = withCert
		}
		resp, err := c.Get(a.URL(name) + CAPath)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Errorf("%s: GET %s = %d, %d bytes; want 200 and ca.crt", name, CAPath, resp.StatusCode, len(got))
		}
		req, _ := http.NewRequest(http.MethodPost, a.URL(name)+CAPath, nil)
		if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: POST %s = %v, %v; want 405", name, CAPath, resp, err)
		} else {
			resp.Body.Close()
		}
	}
}
