//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7"
)

// TestConsoleInChromium drives the web console in Debian's headless Chromium against
// `kmsbox server --dev`: log in with the S3 credentials printed by --dev, find an
// auto-encrypted object, follow its chain object -> object key -> data key -> master key ->
// vault with every link checked live, then seal the vault and watch the chain break.
func TestConsoleInChromium(t *testing.T) {
	chromium := needTool(t, "chromium", "chromium")
	srv := startServer(t, t.TempDir())
	pool := caPool(t, srv.caFile())
	ctx := context.Background()

	s3 := s3Client(t, srv, pool)
	if err := s3.MakeBucket(ctx, "workshop", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	const key = "reports/q3 <draft>.txt" // a key the pages must escape and link to correctly
	if _, err := s3.PutObject(ctx, "workshop", key, strings.NewReader("secret quarterly numbers"), -1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	// Chromium trusts exactly the server's key (the CA is not in its NSS store).
	conn, err := tls.Dial("tcp", srv.addr("console"), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("console TLS with the kmsbox CA: %v", err)
	}
	spki := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	conn.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	bctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	base := srv.urls["console"]
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// Without a session the console sends the browser to the login form; a wrong secret
	// stays there with a message that does not say which field was wrong.
	if err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css("#login")),
	); err != nil {
		t.Fatalf("console: %v", err)
	}
	loginURL, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(loginURL); u == nil || u.Path != "/login" {
		t.Errorf("an anonymous visit ended at %q, want /login", loginURL)
	}
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(css("input[name=accessKey]"), srv.env["AWS_ACCESS_KEY_ID"]),
		chromedp.SendKeys(css("input[name=secretKey]"), "not-the-secret"),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css("#login-message")),
	); err != nil {
		t.Fatalf("login form: %v", err)
	}
	if msg := text("#login-message"); msg != "Invalid login" {
		t.Errorf("a wrong secret key shows %q, want \"Invalid login\"", msg)
	}

	// Log in (the form comes back empty), then go from the overview to the bucket and on to the object's chain by
	// clicking links, as a workshop attendee would.
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(css("input[name=accessKey]"), srv.env["AWS_ACCESS_KEY_ID"]),
		chromedp.SendKeys(css("input[name=secretKey]"), srv.env["AWS_SECRET_ACCESS_KEY"]),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css(`a[href="/buckets/workshop"]`)),
	); err != nil {
		t.Fatalf("login: %v", err)
	}
	overview := text("body")
	for _, want := range []string{"minio-key-1", "workshop", srv.urls["s3"], srv.urls["kes"], srv.urls["vault"]} {
		if !strings.Contains(overview, want) {
			t.Errorf("overview does not show %q:\n%s", want, overview)
		}
	}
	if err := chromedp.Do(bctx,
		chromedp.Click(css(`a[href="/buckets/workshop"]`)),
		chromedp.WaitVisible(css(`a[href^="/objects/workshop/"]`)),
	); err != nil {
		t.Fatalf("overview -> bucket: %v", err)
	}
	if listing := text("body"); !strings.Contains(listing, key) || !strings.Contains(listing, "SSE-S3") {
		t.Errorf("bucket listing does not show %q as SSE-S3:\n%s", key, listing)
	}
	if err := chromedp.Do(bctx,
		chromedp.Click(css(`a[href^="/objects/workshop/"]`)),
		chromedp.WaitVisible(css("#link-vault")),
	); err != nil {
		t.Fatalf("bucket -> object: %v", err)
	}

	links := []string{"#link-object", "#link-objectkey", "#link-datakey", "#link-masterkey", "#link-vault"}
	chain := func() map[string]string {
		t.Helper()
		got := map[string]string{}
		for _, id := range links {
			class, err := chromedp.Run(bctx, chromedp.AttributeValue(css(id), "class"))
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			got[id] = class.Value + "\n" + text(id)
		}
		return got
	}
	healthy := chain()
	for _, id := range links {
		if class, _, _ := strings.Cut(healthy[id], "\n"); !strings.Contains(" "+class+" ", " ok ") {
			t.Errorf("%s is not ok with an unsealed vault: %q", id, healthy[id])
		}
	}
	for id, want := range map[string]string{"#link-object": key, "#link-masterkey": "minio-key-1", "#link-vault": "vault.db"} {
		if !strings.Contains(healthy[id], want) {
			t.Errorf("%s does not show %q: %q", id, want, healthy[id])
		}
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(shot) < 1000 || !bytes.HasPrefix(shot, []byte("\x89PNG")) {
		t.Errorf("screenshot of the chain page: %d bytes, not a PNG", len(shot))
	}
	if dir := os.Getenv("KMSBOX_E2E_ARTIFACTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "console-chain.png"), shot, 0o644)
	}

	// The emergency stop: seal the vault, reload, and the data key no longer opens.
	req, _ := http.NewRequest(http.MethodPut, srv.urls["vault"]+"/v1/sys/seal", nil)
	req.Header.Set("X-Vault-Token", srv.env["VAULT_TOKEN"])
	resp, err := httpsClient(t, pool, "", "").Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("seal: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := chromedp.Do(bctx, chromedp.Reload(), chromedp.WaitVisible(css("#link-vault"))); err != nil {
		t.Fatal(err)
	}
	sealed := chain()
	for _, id := range []string{"#link-datakey", "#link-vault"} {
		if class, text, _ := strings.Cut(sealed[id], "\n"); !strings.Contains(" "+class+" ", " broken ") || !strings.Contains(strings.ToLower(text), "sealed") {
			t.Errorf("%s with a sealed vault = %q, want class broken and a word on the seal", id, sealed[id])
		}
	}
	if class, _, _ := strings.Cut(sealed["#link-object"], "\n"); !strings.Contains(" "+class+" ", " ok ") {
		t.Errorf("#link-object with a sealed vault = %q, want ok (the object is still there)", sealed["#link-object"])
	}
}
