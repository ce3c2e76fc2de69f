package s3lite

import (
	"encoding/json"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzParseCORS: a configuration parseCORS accepts keeps S3's limits, survives the
// bucket record's JSON and its own XML unchanged, and matching never panics.
func FuzzParseCORS(f *testing.F) {
	f.Add([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`))
	f.Add([]byte(`<CORSConfiguration><CORSRule><ID>a</ID><AllowedOrigin>https://*.x</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>10</MaxAgeSeconds></CORSRule></CORSConfiguration>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseCORS(body)
		if err != nil {
			return
		}
		if len(c.Rules) == 0 || len(c.Rules) > maxCORSRules {
			t.Fatalf("%d rules accepted", len(c.Rules))
		}
		for _, r := range c.Rules {
			for _, o := range r.AllowedOrigins {
				if strings.Count(o, "*") > 1 {
					t.Fatalf("origin %q accepted", o)
				}
			}
			for _, m := range r.AllowedMethods {
				if !corsMethods[m] {
					t.Fatalf("method %q accepted", m)
				}
			}
		}
		j, _ := json.Marshal(c)
		var back corsConfiguration
		if err := json.Unmarshal(j, &back); err != nil || !reflect.DeepEqual(back.Rules, c.Rules) {
			t.Fatalf("JSON round trip: %v\n%+v\n%+v", err, c.Rules, back.Rules)
		}
		x, err := xml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseCORS(x)
		if err != nil || !reflect.DeepEqual(again.Rules, c.Rules) {
			t.Fatalf("XML round trip: %v\n%s", err, x)
		}
		_ = c.match("https://a.x", "GET", []string{"x-amz-date"})
	})
}

// FuzzParseLifecycle: a configuration parseLifecycle accepts has unique IDs of at most
// 255 characters and Enabled/Disabled rules, reads back from its own XML as the same
// rules (IDs included), survives the bucket record's JSON, and evaluating it never panics.
func FuzzParseLifecycle(f *testing.F) {
	f.Add([]byte(`<LifecycleConfiguration><Rule><ID>r</ID><Expiration><Days>1</Days></Expiration><Prefix>t/</Prefix><Status>Enabled</Status></Rule></LifecycleConfiguration>`))
	f.Add([]byte(`<LifecycleConfiguration><Rule><Filter><And><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration><Status>Disabled</Status></Rule></LifecycleConfiguration>`))
	f.Add([]byte(`<LifecycleConfiguration><Rule><ID>m</ID><Filter></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload><NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays></NoncurrentVersionExpiration><Status>Enabled</Status></Rule></LifecycleConfiguration>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseLifecycle(body)
		if err != nil {
			return
		}
		ids := map[string]bool{}
		for _, r := range c.Rules {
			if r.ID == "" || len(r.ID) > 255 || ids[r.ID] || r.Status != "Enabled" && r.Status != "Disabled" {
				t.Fatalf("rule %+v accepted", r)
			}
			ids[r.ID] = true
		}
		x, err := xml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseLifecycle(x)
		if err != nil || !reflect.DeepEqual(again.Rules, c.Rules) {
			t.Fatalf("XML round trip: %v\n%s", err, x)
		}
		j, _ := json.Marshal(c)
		var back lifecycleConfiguration
		if err := json.Unmarshal(j, &back); err != nil || !reflect.DeepEqual(back.Rules, c.Rules) {
			t.Fatalf("JSON round trip: %v", err)
		}
		now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
		o := lifecycleObject{Key: "a/b", Size: 5, Tags: map[string]string{"k": "v"}}
		if at, _, ok := c.currentExpiry(o, now); ok && at.IsZero() {
			t.Fatal("zero expiry")
		}
		_ = c.abortsUpload("a/b", now, now.Add(48*time.Hour))
	})
}
