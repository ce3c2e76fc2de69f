package s3lite

import (
	"encoding/json"
	"encoding/xml"
	"reflect"
	"testing"
	"time"
)

// FuzzParseObjectLockConfiguration: a configuration parseObjectLockConfiguration accepts
// is Enabled with at most one positive period of a valid mode, reads back from its own XML
// and the bucket record's JSON unchanged, and gives a retention that ends after now.
func FuzzParseObjectLockConfiguration(f *testing.F) {
	f.Add([]byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`))
	f.Add([]byte(`<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>`))
	f.Add([]byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>100</Years></DefaultRetention></Rule></ObjectLockConfiguration>`))
	f.Add([]byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseObjectLockConfiguration(body)
		if err != nil {
			return
		}
		if c.ObjectLockEnabled != lockEnabled {
			t.Fatalf("ObjectLockEnabled %q accepted", c.ObjectLockEnabled)
		}
		j, _ := json.Marshal(c)
		var back objectLockConfiguration
		if err := json.Unmarshal(j, &back); err != nil || !reflect.DeepEqual(&back, c) {
			t.Fatalf("JSON round trip: %v\n%+v\n%+v", err, c, back)
		}
		x, err := xml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseObjectLockConfiguration(x)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("XML round trip: %v\n%s", err, x)
		}
		bi := &bucketInfo{ObjectLock: c}
		l := withDefaultRetention(nil, bi, now)
		if c.Rule == nil {
			if l != nil {
				t.Fatalf("retention without a rule: %+v", l)
			}
			return
		}
		if !validLockMode(l.Mode) || !l.RetainUntil.After(now) {
			t.Fatalf("default retention %+v from %s", l, body)
		}
	})
}

// FuzzParseRetention: a retention parseRetention accepts is none or a valid mode with a
// date after now.
func FuzzParseRetention(f *testing.F) {
	f.Add([]byte(`<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>`))
	f.Add([]byte(`<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00.123456Z</RetainUntilDate></Retention>`))
	f.Add([]byte(`<Retention/>`))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := parseRetention(body, now)
		if err != nil || l == (objectLock{}) {
			return
		}
		if !validLockMode(l.Mode) || !l.RetainUntil.After(now) || l.LegalHold != "" {
			t.Fatalf("retention %+v accepted from %s", l, body)
		}
	})
}
