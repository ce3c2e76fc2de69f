package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode"
)

// wantLowerCamel checks that every object key in a JSON document is lowerCamelCase.
func wantLowerCamel(t *testing.T, v any, path string) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "" || !unicode.IsLower(rune(k[0])) || strings.ContainsAny(k, "_- ") {
				t.Errorf("%s: key %q is not lowerCamelCase", path, k)
			}
			wantLowerCamel(t, e, path+"."+k)
		}
	case []any:
		for _, e := range v {
			wantLowerCamel(t, e, path+"[]")
		}
	}
}

func TestAPI(t *testing.T) {
	tc := newTestConsole(t, 0)
	tc.login()
	for _, c := range []struct {
		name, path string
		status     int
		golden     string
	}{
		{"status", "/api/v1/status", http.StatusOK, "api-status.golden.json"},
		{"objects", "/api/v1/buckets/photos/objects?prefix=2024%2F", http.StatusOK, "api-objects.golden.json"},
		{"empty bucket", "/api/v1/buckets/reports/objects", http.StatusOK, "api-objects-empty.golden.json"},
		{"chain SSE-S3", "/api/v1/chain/photos/sse-s3.txt", http.StatusOK, "api-chain.golden.json"},
		{"chain sealed", "/api/v1/chain/photos/sealed.txt", http.StatusOK, "api-chain-sealed.golden.json"},
		{"chain SSE-C", "/api/v1/chain/photos/ssec.bin", http.StatusOK, "api-chain-ssec.golden.json"},
		{"no bucket", "/api/v1/buckets/nosuch/objects", http.StatusNotFound, "api-notfound.golden.json"},
		{"no object", "/api/v1/chain/photos/nosuch", http.StatusNotFound, "api-notfound.golden.json"},
		{"no key", "/api/v1/chain/photos/", http.StatusNotFound, "api-notfound.golden.json"},
		{"no route", "/api/v2/status", http.StatusNotFound, "api-noroute.golden.json"},
		{"source failure", "/api/v1/buckets/" + failBucket + "/objects", http.StatusInternalServerError, "api-failure.golden.json"},
		{"source failure chain", "/api/v1/chain/" + failBucket + "/x", http.StatusInternalServerError, "api-failure.golden.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := tc.get(c.path)
			wantStatus(t, r, c.status)
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var v any
			if err := json.Unmarshal([]byte(r.body), &v); err != nil {
				t.Fatalf("%v\n%s", err, r.body)
			}
			wantLowerCamel(t, v, "$")
			golden(t, c.golden, r.body)
		})
	}

	// The decoded chain is the fake's chain, field for field.
	r := tc.get("/api/v1/chain/photos/sealed.txt")
	var got chainJSON
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	want := tc.src.chains["photos/sealed.txt"]
	if got.DataKey.OK || got.DataKey.Err != want.DataKey.Err || got.MasterKeyCheck.Err != want.MasterKeyCheck.Err ||
		!got.Vault.Sealed || got.Object.Key != "sealed.txt" || got.DataKeyCiphertext != want.DataKeyCiphertext ||
		got.MasterKey.Name != want.MasterKey.Name || got.Object.ModTime == nil || !got.Object.ModTime.Equal(want.Object.ModTime) {
		t.Errorf("chain %+v\nwant %+v", got, want)
	}

	// A listing over the limit says it is truncated.
	for i := range listLimit + 1 {
		tc.src.add(Object{Bucket: "big", Key: strings.Repeat("k", 1+i%7) + string(rune('a'+i%26)) + string(rune(0x4e00+i))})
	}
	r = tc.get("/api/v1/buckets/big/objects")
	wantStatus(t, r, http.StatusOK)
	var list objectsJSON
	if err := json.Unmarshal([]byte(r.body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Objects) != listLimit || !list.Truncated || list.Bucket != "big" {
		t.Errorf("%d objects, truncated %v, bucket %q", len(list.Objects), list.Truncated, list.Bucket)
	}
}
