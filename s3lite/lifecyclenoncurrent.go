package s3lite

import (
	"context"
	"time"
)

// Lifecycle expiration of what versioning keeps: noncurrent versions
// (NoncurrentVersionExpiration) and expired delete markers, the delete markers that are
// the current and only version of their key.

// ncKey is a key the noncurrent sweep found work for.
type ncKey struct {
	key     string
	expire  bool   // a noncurrent version has expired
	marker  string // version id of a current delete marker a rule removes once it is alone; "" for none
	history int    // noncurrent versions seen so far in the scan (the nth of expiresVersion)
}

// expireNoncurrent applies c's enabled NoncurrentVersionExpiration rules and its
// Expiration rules' delete-marker cleanup to bucket at now and returns how many versions
// and delete markers it removed.
//
// A noncurrent version expires at expiryAfterDays(the time it became noncurrent,
// NoncurrentDays) unless it is one of the NewerNoncurrentVersions newest noncurrent
// versions of its key; the rule's filter looks at the version itself (key, size, tags),
// and the store judges each version again in the transaction that removes it. A delete
// marker that is the current and only version of its key is removed when a rule with
// ExpiredObjectDeleteMarker selects it, or an Expiration with Days or Date would expire it
// as a current object (S3 removes expired delete markers for those too), through the path
// of a client's DeleteObject with its versionId. A marker left alone by this sweep's
// expiry of noncurrent versions goes in the same sweep. The keys are scanned a page at a
// time. A marker is checked and removed in two steps: a PUT between them keeps its new
// version, and the marker, by then noncurrent, is removed all the same.
func (s *Server) expireNoncurrent(ctx context.Context, bucket string, c *lifecycleConfiguration, now time.Time) (int, error) {
	if !c.expiresVersions() {
		return 0, nil
	}
	if bi, err := s.st.getBucket(ctx, bucket); err != nil || bi.Versioning == "" {
		return 0, err // never versioned: no noncurrent versions, no delete markers
	}
	n, after := 0, ""
	for {
		page, more, err := s.noncurrentPage(ctx, bucket, c, after, now)
		if err != nil {
			return n, err
		}
		for _, k := range page {
			m, err := s.expireKeyVersions(ctx, bucket, c, k, now)
			n += m
			if err != nil {
				return n, err
			}
			after = k.key
		}
		if !more {
			return n, nil
		}
	}
}

// noncurrentPage scans the versions of bucket after the key after and returns up to
// sweepPage keys with work for c at now, each with all its versions seen; more is true if
// the scan stopped at the page's end.
func (s *Server) noncurrentPage(ctx context.Context, bucket string, c *lifecycleConfiguration, after string, now time.Time) (page []ncKey, more bool, err error) {
	var cur ncKey
	flush := func() {
		if cur.expire || cur.marker != "" {
			page = append(page, cur)
		}
	}
	err = s.st.scanVersions(ctx, bucket, "", after, "", func(m *objectMeta, latest bool) bool {
		if m.Key != cur.key { // a key's first version need not be latest: its record may be damaged
			flush()
			if len(page) >= sweepPage {
				more = true
				return false
			}
			cur = ncKey{key: m.Key}
		}
		switch {
		case latest:
			if m.DeleteMarker && c.removesMarker(m, now) {
				cur.marker = m.versionID()
			}
		default:
			cur.history++
			cur.expire = cur.expire || c.expiresVersion(cur.history, m, now)
		}
		return true
	})
	if !more {
		flush()
	}
	return page, more, err
}

// expireKeyVersions does the work noncurrentPage found for k and returns how many
// versions and delete markers it removed.
func (s *Server) expireKeyVersions(ctx context.Context, bucket string, c *lifecycleConfiguration, k ncKey, now time.Time) (int, error) {
	n := 0
	if k.expire {
		gone, err := s.st.expireVersions(ctx, bucket, k.key, false, func(i int, m *objectMeta) bool {
			return c.expiresVersion(i, m, now)
		})
		if err != nil {
			return 0, err
		}
		n = len(gone)
	}
	if k.marker == "" {
		return n, nil
	}
	if alone, err := s.loneMarker(ctx, bucket, k.key, k.marker); err != nil || !alone {
		return n, err
	}
	// With a version id the bucket's versioning state plays no part.
	_, old, err := s.st.deleteObjectVersion(ctx, bucket, k.key, k.marker, "", s.now().UTC(), false)
	if err != nil {
		return n, err
	}
	s.st.removeFiles(old)
	return n + 1, nil
}

// loneMarker reports whether the delete marker vid is still the current and only version
// of bucket/key.
func (s *Server) loneMarker(ctx context.Context, bucket, key, vid string) (bool, error) {
	seen, alone := 0, false
	err := s.st.scanVersions(ctx, bucket, key, "", "", func(m *objectMeta, latest bool) bool {
		if m.Key != key {
			return false
		}
		seen++
		alone = latest && m.DeleteMarker && m.versionID() == vid
		return seen < 2
	})
	return alone && seen == 1, err
}

// expiresVersions reports whether c has an enabled rule that expires noncurrent versions
// or delete markers.
func (c *lifecycleConfiguration) expiresVersions() bool {
	for _, r := range c.Rules {
		if r.Status == "Enabled" && (r.NoncurrentVersionExpiration != nil || r.Expiration != nil) {
			return true
		}
	}
	return false
}

// expiresVersion reports whether an enabled NoncurrentVersionExpiration rule of c expires
// the noncurrent version m, the nth newest noncurrent version of its key (1: the newest),
// by now.
func (c *lifecycleConfiguration) expiresVersion(nth int, m *objectMeta, now time.Time) bool {
	for i := range c.Rules {
		r := &c.Rules[i]
		e := r.NoncurrentVersionExpiration
		if r.Status != "Enabled" || e == nil || e.NoncurrentDays == nil || !r.matches(lifecycleObjectOf(m)) {
			continue
		}
		if keep := e.NewerNoncurrentVersions; keep != nil && nth <= *keep {
			continue
		}
		if !now.Before(expiryAfterDays(m.Noncurrent, *e.NoncurrentDays)) {
			return true
		}
	}
	return false
}

// removesMarker reports whether an enabled Expiration rule of c removes the delete marker
// m by now once it is the only version of its key: ExpiredObjectDeleteMarker, or Days or
// Date having expired it as a current object.
func (c *lifecycleConfiguration) removesMarker(m *objectMeta, now time.Time) bool {
	o := lifecycleObjectOf(m)
	for i := range c.Rules {
		r := &c.Rules[i]
		e := r.Expiration
		if r.Status == "Enabled" && e != nil && e.ExpiredObjectDeleteMarker != nil && *e.ExpiredObjectDeleteMarker && r.matches(o) {
			return true
		}
	}
	at, _, ok := c.currentExpiry(o, m.ModTime)
	return ok && !now.Before(at)
}
