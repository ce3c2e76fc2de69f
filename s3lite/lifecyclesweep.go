package s3lite

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Applying lifecycle rules: what a rule selects, when it expires an object (also the
// x-amz-expiration header), and the lifecycle part of the background sweep (uploadexpiry.go
// runs it). Enabled rules of each bucket's lifecycle configuration expire current objects
// (Expiration Days or Date), abort incomplete multipart uploads
// (AbortIncompleteMultipartUpload) and, in versioned buckets, expire noncurrent versions
// and expired delete markers (lifecyclenoncurrent.go). Time is Config.Now, so tests move
// the clock and call Server.sweep.

// sweepPage bounds how many expired objects one read transaction collects before they
// are deleted, so a large bucket never holds bolt's reader open for its whole scan.
const sweepPage = 1000

// sweepStats counts what one sweep removed.
type sweepStats struct {
	Uploads    int // multipart uploads aborted (Config.UploadExpiry or a lifecycle rule)
	Objects    int // current objects expired
	Noncurrent int // noncurrent versions and delete markers expired (expireNoncurrent)
}

// sweep runs one pass of the background work at s.now(): expired multipart uploads, then
// lifecycle expiration in every bucket that has a configuration. One pass runs at a time.
// It goes on past a bucket that fails and returns the errors joined.
func (s *Server) sweep(ctx context.Context) (sweepStats, error) {
	s.sweeper.mu.Lock()
	defer s.sweeper.mu.Unlock()
	var st sweepStats
	now := s.now()
	buckets, err := s.st.listBuckets(ctx)
	if err != nil {
		return st, err
	}
	rules := map[string]*lifecycleConfiguration{}
	for _, b := range buckets {
		if b.Lifecycle != nil {
			rules[b.Name] = b.Lifecycle
		}
	}
	var errs []error
	n, err := s.expireUploads(ctx, now, rules)
	st.Uploads = n
	errs = append(errs, err)
	for _, b := range buckets {
		c := rules[b.Name]
		if c == nil {
			continue
		}
		n, err := s.expireCurrent(ctx, b.Name, c, now)
		st.Objects += n
		errs = append(errs, err)
		n, err = s.expireNoncurrent(ctx, b.Name, c, now)
		st.Noncurrent += n
		errs = append(errs, err)
	}
	return st, errors.Join(errs...)
}

// abortsUpload reports whether an enabled AbortIncompleteMultipartUpload rule of c aborts
// the upload of key initiated at init by now.
func (c *lifecycleConfiguration) abortsUpload(key string, init, now time.Time) bool {
	if c == nil {
		return false
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		a := r.AbortIncompleteMultipartUpload
		// An upload has no size and no tags yet: only the prefix selects it (S3 refuses
		// tag filters with this action).
		if r.Status == "Enabled" && a != nil && r.matchesKey(key) && !now.Before(expiryAfterDays(init, a.DaysAfterInitiation)) {
			return true
		}
	}
	return false
}

// matchesKey reports whether r's prefix selects key, whatever its other filters say.
func (r *lifecycleRule) matchesKey(key string) bool {
	o := lifecycleObject{Key: key}
	if f := r.Filter; f != nil && r.Prefix == nil {
		p := f.Prefix
		if f.And != nil {
			p = f.And.Prefix
		}
		return p == nil || (&lifecycleRule{Prefix: p}).matches(o)
	}
	return r.matches(o)
}

// expiring is a current object the sweep judged expired: its record must still be the
// same (ETag and time) when it is deleted.
type expiring struct {
	key  string
	etag string
	mod  time.Time
}

// expireCurrent deletes the current objects of bucket that c's enabled Expiration rules
// (Days or Date) have expired by now, each through removeObject, the path of a client's
// DeleteObject. An object overwritten since the scan is left alone; the check and the
// delete are two steps, so an overwrite between them is lost, as an overwrite racing a
// client's DELETE is.
func (s *Server) expireCurrent(ctx context.Context, bucket string, c *lifecycleConfiguration, now time.Time) (int, error) {
	if !c.expiresCurrent() {
		return 0, nil
	}
	n, after := 0, ""
	for {
		var page []expiring
		err := s.st.scanObjects(ctx, bucket, "", after, func(m *objectMeta) bool {
			after = m.Key
			if at, _, ok := c.currentExpiry(lifecycleObjectOf(m), m.ModTime); ok && !now.Before(at) {
				page = append(page, expiring{key: m.Key, etag: m.ETag, mod: m.ModTime})
			}
			return len(page) < sweepPage
		})
		if err != nil {
			return n, err
		}
		for _, e := range page {
			m, err := s.st.getObject(ctx, bucket, e.key)
			if err != nil || m.ETag != e.etag || !m.ModTime.Equal(e.mod) {
				continue // gone, damaged or overwritten since the scan
			}
			if err := s.removeObject(ctx, bucket, e.key); err != nil {
				return n, err
			}
			n++
		}
		if len(page) < sweepPage {
			return n, nil
		}
	}
}

// expiresCurrent reports whether c has an enabled rule that expires current objects.
func (c *lifecycleConfiguration) expiresCurrent() bool {
	for _, r := range c.Rules {
		if r.Status == "Enabled" && r.Expiration != nil && (r.Expiration.Days != nil || r.Expiration.Date != nil) {
			return true
		}
	}
	return false
}

// lifecycleObject is what a rule's filter looks at.
type lifecycleObject struct {
	Key  string
	Size int64
	Tags map[string]string
}

// matches reports whether r's filter selects o (Status is not looked at).
func (r *lifecycleRule) matches(o lifecycleObject) bool {
	if r.Prefix != nil {
		return strings.HasPrefix(o.Key, *r.Prefix)
	}
	f := r.Filter
	if f == nil {
		return true
	}
	prefix, tags, gt, lt := f.Prefix, []lcTag(nil), f.ObjectSizeGreaterThan, f.ObjectSizeLessThan
	if f.Tag != nil {
		tags = []lcTag{*f.Tag}
	}
	if a := f.And; a != nil {
		prefix, tags, gt, lt = a.Prefix, a.Tags, a.ObjectSizeGreaterThan, a.ObjectSizeLessThan
	}
	if prefix != nil && !strings.HasPrefix(o.Key, *prefix) {
		return false
	}
	if gt != nil && o.Size <= *gt || lt != nil && o.Size >= *lt {
		return false
	}
	for _, t := range tags {
		if v, ok := o.Tags[t.Key]; !ok || v != t.Value {
			return false
		}
	}
	return true
}

// expiryAfterDays is when an object created at created expires under an Expiration of
// days days: S3 adds the days and rounds up to the next midnight UTC.
func expiryAfterDays(created time.Time, days int) time.Time {
	t := created.UTC().Add(time.Duration(days) * 24 * time.Hour)
	if d := t.Truncate(24 * time.Hour); !d.Equal(t) {
		return d.Add(24 * time.Hour)
	}
	return t
}

// currentExpiry returns when the current object o, last modified at mod, expires under
// c's enabled rules, and the ID of the rule that expires it first; ok is false if none does.
func (c *lifecycleConfiguration) currentExpiry(o lifecycleObject, mod time.Time) (at time.Time, id string, ok bool) {
	if c == nil {
		return time.Time{}, "", false
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		e := r.Expiration
		if r.Status != "Enabled" || e == nil || !r.matches(o) {
			continue
		}
		var t time.Time
		switch {
		case e.Days != nil:
			t = expiryAfterDays(mod, *e.Days)
		case e.Date != nil:
			d, err := parseLifecycleDate(*e.Date)
			if err != nil {
				continue
			}
			t = d
		default:
			continue
		}
		if !ok || t.Before(at) {
			at, id, ok = t, r.ID, true
		}
	}
	return at, id, ok
}

// setExpirationHeader sets x-amz-expiration on the answer about the current object o of
// a bucket with lifecycle configuration c (nil: none), as S3 does on PUT, GET and HEAD.
func setExpirationHeader(h http.Header, c *lifecycleConfiguration, o lifecycleObject, mod time.Time) {
	if at, id, ok := c.currentExpiry(o, mod); ok {
		h.Set("x-amz-expiration", `expiry-date="`+at.Format(http.TimeFormat)+`", rule-id="`+strings.ReplaceAll(id, `"`, `\"`)+`"`)
	}
}

// lifecycleObjectOf is the view of the object record m that rules filter on.
func lifecycleObjectOf(m *objectMeta) lifecycleObject {
	return lifecycleObject{Key: m.Key, Size: m.Size, Tags: m.Tags}
}

// expirationHeader sets x-amz-expiration for the object record m of bucket, reading the
// bucket's lifecycle configuration; a bucket it cannot read gets no header.
func (s *Server) expirationHeader(q *request, h http.Header, m *objectMeta) {
	bi, err := s.requestBucket(q.r.Context(), q.bucket)
	if err != nil || bi.Lifecycle == nil {
		return
	}
	setExpirationHeader(h, bi.Lifecycle, lifecycleObjectOf(m), m.ModTime)
}
