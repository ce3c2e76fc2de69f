package web

import (
	"flag"
	"fmt"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the answer (run go test -update if the change is intended)\n--- got:\n%s", path, got)
	}
}

func TestOverview(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()
	r := tc.get("/")
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	wantContains(t, r.body,
		`<a class="brand" href="/">kmsbox console</a>`, `id="nav-overview"`, `id="logout"`,
		`id="layer-s3"`, `id="layer-kes"`, `id="layer-vault"`,
		// S3
		"https://127.0.0.1:9000", "on: uploads without SSE headers are encrypted with SSE-S3",
		"kmsbox KES (in-process)", "minio-default-key",
		`<a href="/buckets/photos">photos</a>`, `<a href="/buckets/reports">reports</a>`,
		"<td>SSE-S3</td>", "<td>SSE-KMS</td>", "minio-key-1", "2026-11-27 09:30:00 UTC",
		// KES
		"https://127.0.0.1:7373", `id="keys"`, "embedded vault, KV v1 kes/minio-key-1",
		// vault
		"https://127.0.0.1:8200", "3 of 5 shares", "/data/vault.db", "kes/", "unsealed",
		// Transit: every key with its type and latest version, and an engine without keys
		`id="transit"`,
		`<tr><td class="mono">transit/</td><td class="mono">orders</td><td class="mono">aes256-gcm96</td><td>3</td></tr>`,
		`<tr><td class="mono">transit/</td><td class="mono">transit-key-1</td><td class="mono">chacha20-poly1305</td><td>1</td></tr>`,
		`<tr><td class="mono">other/</td><td colspan="3" class="empty">no keys yet</td></tr>`,
	)
	if n := strings.Count(r.body, `class="badge ok"`); n != 3 {
		t.Errorf("%d ok badges, want 3", n)
	}
	golden(t, "overview.golden.html", r.body)

	// Layers that are down say so.
	tc.src.mu.Lock()
	tc.src.status.S3.Ready = Check{Err: "KMS unavailable: vault is sealed"}
	tc.src.status.S3.AutoEncrypt = false
	tc.src.status.KES.Ready = Check{Err: "key store unavailable"}
	tc.src.status.KES.Keys = nil
	tc.src.status.S3.Buckets = nil
	tc.src.status.Vault.Sealed = true
	tc.src.status.Vault.External = true
	tc.src.mu.Unlock()
	r = tc.get("/")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "KMS unavailable: vault is sealed", "key store unavailable", "No buckets yet.",
		"No master keys (the key store is unavailable).", ">sealed<", "external Vault", "<dd>off</dd>")
	if n := strings.Count(r.body, `class="badge broken"`); n != 3 {
		t.Errorf("%d broken badges, want 3", n)
	}
	if strings.Contains(r.body, "Transit keys") {
		t.Error("a sealed vault's overview has a Transit section")
	}

	// An unsealed vault without a Transit engine says how to enable one.
	tc.src.mu.Lock()
	tc.src.status.Vault.Sealed = false
	tc.src.status.Vault.Transit = nil
	tc.src.mu.Unlock()
	r = tc.get("/")
	wantContains(t, r.body, "Transit keys", "No Transit engine (vault secrets enable transit).")
}

func TestBucketListing(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()
	r := tc.get("/buckets/photos")
	wantStatus(t, r, http.StatusOK)
	if b, _, prefix, limit := tc.src.asked(); b != "photos" || prefix != "" || limit != listLimit+1 {
		t.Errorf("Source asked for bucket %q prefix %q limit %d", b, prefix, limit)
	}
	tc.src.mu.Lock()
	if !tc.src.deadline {
		t.Error("the Source was called without the route's timeout")
	}
	tc.src.mu.Unlock()
	wantContains(t, r.body, `id="objects"`,
		`<a href="/objects/photos/2024/a.jpg">2024/a.jpg</a>`, `<a href="/objects/photos/ssec.bin">ssec.bin</a>`,
		"1.2 MiB (1234567 B)", "5.0 GiB (5368709120 B)", "99 B", "<td>SSE-C</td>", "<td>none</td>",
		`<td class="num">3</td>`, "2026-11-27 09:30:00 UTC", `value=""`)
	if n := strings.Count(r.body, `href="/objects/`); n != 8 {
		t.Errorf("%d object links, want 8", n)
	}
	wantAbsent(t, r.body, `id="truncated"`)

	r = tc.get("/buckets/photos?prefix=2024%2F")
	wantStatus(t, r, http.StatusOK)
	if _, _, prefix, _ := tc.src.asked(); prefix != "2024/" {
		t.Errorf("Source asked for prefix %q, want 2024/", prefix)
	}
	wantContains(t, r.body, "2024/a.jpg", "2024/b.jpg", `value="2024/"`)
	wantAbsent(t, r.body, "2025/big.iso", "plain.txt")

	r = tc.get("/buckets/photos?prefix=nothing-here")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, `id="no-objects"`, "No objects under this prefix.")

	r = tc.get("/buckets/reports")
	wantStatus(t, r, http.StatusOK)
	wantContains(t, r.body, "No objects.")

	// More than the limit: the first 1000 and a note.
	for i := range listLimit + 5 {
		tc.src.add(Object{Bucket: "big", Key: fmt.Sprintf("obj-%05d", i), Size: int64(i)})
	}
	r = tc.get("/buckets/big")
	wantStatus(t, r, http.StatusOK)
	if n := strings.Count(r.body, `href="/objects/big/`); n != listLimit {
		t.Errorf("%d rows, want %d", n, listLimit)
	}
	wantContains(t, r.body, `id="truncated"`, "obj-00999")
	wantAbsent(t, r.body, "obj-01000")
}

func TestChainSSES3(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()
	r := tc.get("/objects/photos/sse-s3.txt")
	wantStatus(t, r, http.StatusOK)
	for _, id := range []string{"link-object", "link-objectkey", "link-datakey", "link-masterkey", "link-vault"} {
		if c := linkClass(r.body, id); c != "link ok" {
			t.Errorf("%s: class %q, want \"link ok\"", id, c)
		}
	}
	wantAbsent(t, r.body, "broken", `id="chain-end"`)
	c := okChain(tc.src.object("photos", "sse-s3.txt"))
	wantContains(t, r.body, c.SealedObjectKey, c.DataKeyCiphertext, html.EscapeString(c.DataKeyContext),
		"DARE-SHA256", "DARE 2.0, AES-256-GCM, 64 KiB packages", "embedded vault, KV v1 kes/minio-default-key",
		"the KMS decrypts it", "the key server can use it", `class="mono wrap"`)
	if order := regexp.MustCompile(`id="link-(\w+)"`).FindAllStringSubmatch(r.body, -1); len(order) != 5 ||
		order[0][1] != "object" || order[1][1] != "objectkey" || order[2][1] != "datakey" || order[3][1] != "masterkey" || order[4][1] != "vault" {
		t.Errorf("boxes in order %v", order)
	}
	if n := strings.Count(r.body, `class="arrow"`); n != 4 {
		t.Errorf("%d arrows, want 4", n)
	}
	golden(t, "chain.golden.html", r.body)
}

func TestChainBroken(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()
	r := tc.get("/objects/photos/sealed.txt")
	wantStatus(t, r, http.StatusOK)
	for id, want := range map[string]string{
		"link-object": "link ok", "link-objectkey": "link ok",
		"link-datakey": "link broken", "link-masterkey": "link broken", "link-vault": "link broken",
	} {
		if c := linkClass(r.body, id); c != want {
			t.Errorf("%s: class %q, want %q", id, c, want)
		}
	}
	wantContains(t, r.body, sealedDataKeyErr, sealedMasterKeyErr,
		"The vault is sealed: its barrier stays closed until 3 of its 5 unseal key shares are entered (vault operator unseal).")
	golden(t, "chain-sealed.golden.html", r.body)
}

func TestChainStates(t *testing.T) {
	// newChainPage on its own, for the cases the fake's data do not reach.
	full := okChain(Object{Bucket: "b", Key: "k", Encryption: "SSE-KMS", KeyID: "key"})
	for _, c := range []struct {
		name   string
		change func(*Chain)
		want   map[string]string // box -> "ok", "broken: <err>" or "" (absent)
	}{
		{"healthy", func(*Chain) {}, map[string]string{"objectkey": "ok", "datakey": "ok", "masterkey": "ok", "vault": "ok"}},
		{"master key deleted", func(c *Chain) {
			c.DataKey = Check{Err: "key does not exist"}
			c.MasterKeyCheck = Check{Err: "master key minio-key-1 does not exist"}
		}, map[string]string{"objectkey": "ok", "datakey": "broken: key does not exist", "masterkey": "broken: master key minio-key-1 does not exist", "vault": "ok"}},
		{"no reason given", func(c *Chain) { c.DataKey = Check{} }, map[string]string{"datakey": "broken: Broken (the source gave no reason)."}},
		{"not initialized", func(c *Chain) { c.Vault.Initialized = false }, map[string]string{"vault": "broken: The vault is not initialized: run vault operator init."}},
		{"sealed without split", func(c *Chain) { c.Vault.Sealed, c.Vault.Shares, c.Vault.Threshold = true, 0, 0 }, map[string]string{"vault": "broken: The vault is sealed: its barrier stays closed until it is unsealed (vault operator unseal)."}},
		{"external vault reachable", func(c *Chain) { c.Vault = VaultStatus{External: true} }, map[string]string{"vault": "ok"}},
		{"external vault unreachable", func(c *Chain) {
			c.Vault = VaultStatus{External: true}
			c.MasterKeyCheck = Check{Err: "Vault at https://vault:8200 is unreachable"}
		}, map[string]string{"vault": "broken: Vault at https://vault:8200 is unreachable"}},
		{"no sealed object key", func(c *Chain) { c.SealedObjectKey = "" }, map[string]string{"objectkey": "broken: The object's metadata holds no sealed object key: the body cannot be decrypted."}},
		{"SSE-C", func(c *Chain) { *c = okChain(Object{Bucket: "b", Key: "k", Encryption: "SSE-C"}) }, map[string]string{"objectkey": "ok", "datakey": "", "masterkey": "", "vault": ""}},
		{"plaintext", func(c *Chain) { *c = okChain(Object{Bucket: "b", Key: "k"}) }, map[string]string{"objectkey": "", "datakey": "", "masterkey": "", "vault": ""}},
		{"master key outside kmsbox", func(c *Chain) {
			c.Vault = VaultStatus{}
			c.MasterKey.Location = "KES at https://kes:7373"
		}, map[string]string{"objectkey": "ok", "datakey": "ok", "masterkey": "ok", "vault": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ch := full
			c.change(&ch)
			p := newChainPage(ch)
			if p.Object == nil || !p.Object.OK {
				t.Errorf("object box %+v, want ok", p.Object)
			}
			if c.name == "master key outside kmsbox" && !strings.Contains(p.End, "outside this kmsbox (KES at https://kes:7373)") {
				t.Errorf("End = %q, want it to name where the master key is", p.End)
			}
			boxes := map[string]*linkState{"objectkey": p.ObjectKey, "datakey": p.DataKey, "masterkey": p.MasterKey, "vault": p.Vault}
			for box, want := range c.want {
				got := ""
				switch s := boxes[box]; {
				case s == nil:
				case s.OK:
					got = "ok"
				default:
					got = "broken: " + s.Err
				}
				if got != want {
					t.Errorf("%s: %q, want %q", box, got, want)
				}
			}
		})
	}
}

func TestChainEndsEarly(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()

	r := tc.get("/objects/photos/ssec.bin")
	wantStatus(t, r, http.StatusOK)
	if linkClass(r.body, "link-object") != "link ok" || linkClass(r.body, "link-objectkey") != "link ok" {
		t.Errorf("SSE-C: object %q, object key %q", linkClass(r.body, "link-object"), linkClass(r.body, "link-objectkey"))
	}
	wantAbsent(t, r.body, "link-datakey", "link-masterkey", "link-vault", "broken")
	wantContains(t, r.body, `id="chain-end"`, "SSE-C: the object key is sealed with a key the client sent", strings.Repeat("c0ffee", 16))

	r = tc.get("/objects/photos/plain.txt")
	wantStatus(t, r, http.StatusOK)
	if linkClass(r.body, "link-object") != "link ok" {
		t.Errorf("plaintext: object %q", linkClass(r.body, "link-object"))
	}
	wantAbsent(t, r.body, "link-objectkey", "link-datakey", "link-masterkey", "link-vault", "broken")
	wantContains(t, r.body, `id="chain-end"`, "This object is not encrypted")

	// The bucket itself, with a trailing slash, is the listing.
	r = tc.get("/objects/photos/")
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/buckets/photos" {
		t.Errorf("Location %q", loc)
	}
}

func TestErrorPages(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()
	for _, c := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/buckets/nosuch", http.StatusNotFound, "No such bucket or object"},
		{"/objects/photos/nosuch.txt", http.StatusNotFound, "No such bucket or object"},
		{"/objects/nosuch/a.txt", http.StatusNotFound, "No such bucket or object"},
		{"/nowhere", http.StatusNotFound, "Not found"},
		{"/buckets/photos/extra", http.StatusNotFound, "Not found"},
		{"/buckets/" + failBucket, http.StatusInternalServerError, errDiskOnFire.Error()},
		{"/objects/" + failBucket + "/a.txt", http.StatusInternalServerError, errDiskOnFire.Error()},
	} {
		r := tc.get(c.path)
		wantStatus(t, r, c.status)
		wantContains(t, r.body, `id="error"`, html.EscapeString(c.msg), `id="logout"`)
		if c.status == http.StatusNotFound {
			wantAbsent(t, r.body, "web: not found")
		}
	}
	logs := tc.logs.String()
	if n := strings.Count(logs, "level=WARN msg=\"console request failed\""); n != 2 {
		t.Errorf("%d 500s logged at Warn, want 2:\n%s", n, logs)
	}
	if !strings.Contains(logs, "disk on fire") || strings.Contains(logs, "status=404") {
		t.Errorf("log:\n%s", logs)
	}

	tc.src.mu.Lock()
	tc.src.statusErr = fmt.Errorf("vault: %w", errDiskOnFire)
	tc.src.mu.Unlock()
	r := tc.get("/")
	wantStatus(t, r, http.StatusInternalServerError)
	wantContains(t, r.body, "vault: s3: reading bucket metadata: disk on fire")
}

// hrefs are the unescaped link targets of page that start with prefix.
func hrefs(page, prefix string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if h := html.UnescapeString(m[1]); strings.HasPrefix(h, prefix) {
			out = append(out, h)
		}
	}
	return out
}

func TestSpecialKeys(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()
	keys := []string{
		specialKey,
		"a//b", "/leading", "x/../y", "x/./y", "..", "...", "dir/", "trailing/.",
		"100% + more & less", "q?x=1&y=2", "#frag", "日本語/ファイル.txt", `quote"and'apos`,
		"tab\there", "%2F", "a%2Fb/c", "back\\slash", "semi;colon", "emoji 🔑",
	}
	for _, k := range keys[1:] {
		tc.src.add(Object{Bucket: "odd", Key: k, Encryption: "SSE-S3", KeyID: "minio-default-key"})
	}
	tc.src.add(Object{Bucket: "odd", Key: specialKey, Encryption: "SSE-S3", KeyID: "minio-default-key"})

	r := tc.get("/buckets/odd")
	wantStatus(t, r, http.StatusOK)
	wantAbsent(t, r.body, "<script>", `quote"and`)
	wantContains(t, r.body, "&lt;script&gt;alert(1)&lt;/script&gt;", "quote&#34;and&#39;apos")
	links := hrefs(r.body, "/objects/")
	if len(links) != len(keys) {
		t.Fatalf("%d links for %d keys: %q", len(links), len(keys), links)
	}
	got := map[string]bool{}
	for _, link := range links {
		r := tc.get(link)
		wantStatus(t, r, http.StatusOK)
		_, key, _, _ := tc.src.asked()
		got[key] = true
		if m := regexp.MustCompile(`id="object-key">([^<]*)</span>`).FindStringSubmatch(r.body); m == nil || html.UnescapeString(m[1]) != key {
			t.Errorf("asked for %q, page shows %q", key, m)
		}
		wantAbsent(t, r.body, "<script>")
		if linkClass(r.body, "link-vault") != "link ok" {
			t.Errorf("%q: chain not followed", key)
		}
		// The crumbs lead back to the bucket.
		if b := hrefs(r.body, "/buckets/"); len(b) != 1 || b[0] != "/buckets/odd" {
			t.Errorf("%q: bucket links %q", key, b)
		}
		// The API reaches the same key the same way.
		api := tc.get("/api/v1/chain/" + strings.TrimPrefix(link, "/objects/"))
		wantStatus(t, api, http.StatusOK)
		if _, k, _, _ := tc.src.asked(); k != key {
			t.Errorf("API asked for %q, page for %q", k, key)
		}
	}
	for _, k := range keys {
		if !got[k] {
			t.Errorf("no link led to %q", k)
		}
	}

	// The special prefix round-trips through the filter form's value too.
	r = tc.get(bucketPath("odd", "a b/<script>"))
	wantStatus(t, r, http.StatusOK)
	if _, _, prefix, _ := tc.src.asked(); prefix != "a b/<script>" {
		t.Errorf("prefix %q", prefix)
	}
	wantContains(t, r.body, `value="a b/&lt;script&gt;"`)
	if n := len(hrefs(r.body, "/objects/")); n != 1 {
		t.Errorf("%d links under the prefix, want 1", n)
	}
}

func TestEscapeKey(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{"a.txt", "a.txt"},
		{"dir/sub/a.txt", "dir/sub/a.txt"},
		{"a b/ü?#%.txt", "a%20b/%C3%BC%3F%23%25.txt"},
		{"dir/", "dir/"},
		{"a//b", "a%2F%2Fb"},
		{"/lead", "%2Flead"},
		{"x/../y", "x%2F..%2Fy"},
		{"..", "%2E%2E"},
		{".", "%2E"},
		{"a+b=c&d", "a+b=c&d"},
	} {
		if got := escapeKey(c.key); got != c.want {
			t.Errorf("escapeKey(%q) = %q, want %q", c.key, got, c.want)
		}
	}
}
