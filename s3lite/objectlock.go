package s3lite

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// S3 Object Lock (WORM): a bucket created with x-amz-bucket-object-lock-enabled: true, or
// a versioned bucket given an Object Lock configuration, keeps versioning Enabled for good
// and gives each new version the default retention of its configuration, if any, unless
// the write names its own (x-amz-object-lock-mode and -retain-until-date; a legal hold
// with x-amz-object-lock-legal-hold). PutObjectRetention and PutObjectLegalHold change a
// version's lock afterwards. A version under a legal hold or unexpired retention cannot be
// removed (storelock.go): COMPLIANCE by no one, GOVERNANCE only by a requester who sends
// x-amz-bypass-governance-retention: true and is allowed s3:BypassGovernanceRetention.
// Retention can be extended; shortening or removing it, or changing its mode, needs the
// same bypass for GOVERNANCE and is refused for COMPLIANCE. Delete markers and new
// versions are always allowed: they remove nothing.

// objectLockConfiguration is the body of Put/GetObjectLockConfiguration and, as JSON, the
// bucket's stored configuration (bucketInfo.ObjectLock).
type objectLockConfiguration struct {
	XMLName           xml.Name        `xml:"ObjectLockConfiguration" json:"-"`
	Xmlns             string          `xml:"xmlns,attr,omitempty" json:"-"`
	ObjectLockEnabled string          `xml:"ObjectLockEnabled,omitempty" json:"enabled"`
	Rule              *objectLockRule `xml:"Rule,omitempty" json:"rule,omitempty"`
}

type objectLockRule struct {
	DefaultRetention *defaultRetention `xml:"DefaultRetention" json:"dr"`
}

type defaultRetention struct {
	Mode  string `xml:"Mode" json:"mode"`
	Days  *int   `xml:"Days,omitempty" json:"days,omitempty"`
	Years *int   `xml:"Years,omitempty" json:"years,omitempty"`
}

// objectRetention is the body of Put/GetObjectRetention.
type objectRetention struct {
	XMLName         xml.Name `xml:"Retention"`
	Xmlns           string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

// objectLegalHold is the body of Put/GetObjectLegalHold.
type objectLegalHold struct {
	XMLName xml.Name `xml:"LegalHold"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

const lockEnabled = "Enabled"

var (
	errLockNotEnabled = withMsg(errInvalidRequest, "Bucket is missing Object Lock Configuration")
	errLockedVersion  = withMsg(errObjectLocked, "Access Denied because object protected by object lock.")
)

// lockTime formats a retain-until date as S3 does in headers and bodies.
func lockTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// parseLockTime parses an ISO 8601 retain-until date, kept to the millisecond.
func parseLockTime(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC().Truncate(time.Millisecond), true
}

// validLockMode reports whether m is a retention mode (case matters, as in S3).
func validLockMode(m string) bool { return m == lockGovernance || m == lockCompliance }

// check validates c as S3 does: MalformedXML for the wrong shape, InvalidRetentionPeriod
// for a period that is not a positive number of days (up to 100 years).
func (c *objectLockConfiguration) check() error {
	if c.ObjectLockEnabled != lockEnabled {
		return errMalformedXML
	}
	if c.Rule == nil {
		return nil
	}
	d := c.Rule.DefaultRetention
	if d == nil || !validLockMode(d.Mode) || (d.Days == nil) == (d.Years == nil) {
		return errMalformedXML
	}
	switch {
	case d.Days != nil && (*d.Days <= 0 || *d.Days > 36500), d.Years != nil && (*d.Years <= 0 || *d.Years > 100):
		return withMsg(errInvalidRetentionPeriod, "Default retention period must be a positive integer value of at most 36500 days or 100 years.")
	}
	return nil
}

// parseObjectLockConfiguration decodes and checks the body of PutObjectLockConfiguration.
func parseObjectLockConfiguration(data []byte) (*objectLockConfiguration, error) {
	var c objectLockConfiguration
	if err := readXML(bytesReader(data), &c); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	c.XMLName, c.Xmlns = xml.Name{}, "" // as stored
	return &c, nil
}

// putObjectLockConfiguration answers PutObjectLockConfiguration. A bucket without Object
// Lock gets it only while its versioning is Enabled (409 InvalidBucketState otherwise).
func (s *Server) putObjectLockConfiguration(w http.ResponseWriter, q *request) error {
	data, err := readIntegrityBody(q)
	if err != nil {
		return err
	}
	c, err := parseObjectLockConfiguration(data)
	if err != nil {
		return err
	}
	err = s.st.updateBucket(q.r.Context(), q.bucket, func(bi *bucketInfo) error {
		if bi.ObjectLock == nil && bi.Versioning != versioningEnabled {
			return withMsg(errInvalidBucketState, "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
		}
		bi.ObjectLock = c
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getObjectLockConfiguration answers GetObjectLockConfiguration: 404
// ObjectLockConfigurationNotFoundError for a bucket without Object Lock.
func (s *Server) getObjectLockConfiguration(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	if bi.ObjectLock == nil {
		return errNoObjectLockConfig
	}
	c := *bi.ObjectLock
	c.Xmlns = s3NS
	writeXML(w, http.StatusOK, c)
	return nil
}

// objectLockOnCreate is the configuration of a bucket CreateBucket makes with
// x-amz-bucket-object-lock-enabled: true; nil without.
func objectLockOnCreate(h http.Header) *objectLockConfiguration {
	if !strings.EqualFold(h.Get("X-Amz-Bucket-Object-Lock-Enabled"), "true") {
		return nil
	}
	return &objectLockConfiguration{ObjectLockEnabled: lockEnabled}
}

// checkVersioningChange refuses to move a bucket with Object Lock off Enabled versioning.
func checkVersioningChange(bi *bucketInfo, status string) error {
	if bi.ObjectLock != nil && status != versioningEnabled {
		return withMsg(errInvalidBucketState, "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
	}
	return nil
}

// lockHeaders parses the Object Lock headers of a write into bucket bi at now: nil if
// there are none. Bucket without Object Lock: 400 InvalidRequest.
func lockHeaders(h http.Header, bi *bucketInfo, now time.Time) (*objectLock, error) {
	mode, until, hold := h.Get("X-Amz-Object-Lock-Mode"), h.Get("X-Amz-Object-Lock-Retain-Until-Date"), h.Get("X-Amz-Object-Lock-Legal-Hold")
	if mode == "" && until == "" && hold == "" {
		return nil, nil
	}
	if bi.ObjectLock == nil {
		return nil, errLockNotEnabled
	}
	l := &objectLock{}
	if mode != "" || until != "" {
		if mode == "" || until == "" {
			return nil, withMsg(errInvalidArgument, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
		}
		if !validLockMode(mode) {
			return nil, withMsg(errInvalidArgument, "Unknown wormMode directive.")
		}
		t, ok := parseLockTime(until)
		if !ok {
			return nil, withMsg(errInvalidArgument, "The retain until date must be provided in ISO 8601 format")
		}
		if !t.After(now) {
			return nil, withMsg(errInvalidArgument, "The retain until date must be in the future!")
		}
		l.Mode, l.RetainUntil = mode, t
	}
	switch hold {
	case "", legalHoldOn, legalHoldOff:
		l.LegalHold = hold
	default:
		return nil, withMsg(errInvalidArgument, "Legal Hold must be either of 'ON' or 'OFF'")
	}
	return l, nil
}

// withDefaultRetention gives l (nil: none) the default retention of bi's configuration
// from now if it names no retention of its own.
func withDefaultRetention(l *objectLock, bi *bucketInfo, now time.Time) *objectLock {
	if bi.ObjectLock == nil || bi.ObjectLock.Rule == nil || bi.ObjectLock.Rule.DefaultRetention == nil || (l != nil && l.Mode != "") {
		return l
	}
	d := bi.ObjectLock.Rule.DefaultRetention
	out := &objectLock{Mode: d.Mode}
	if l != nil {
		out.LegalHold = l.LegalHold
	}
	if d.Days != nil {
		out.RetainUntil = now.AddDate(0, 0, *d.Days)
	} else if d.Years != nil {
		out.RetainUntil = now.AddDate(*d.Years, 0, 0)
	}
	out.RetainUntil = out.RetainUntil.UTC().Truncate(time.Millisecond)
	return out
}

// writeLock is the lock of a new version of bi written by a request with headers h at
// now: its own headers, else the bucket's default retention.
func writeLock(h http.Header, bi *bucketInfo, now time.Time) (*objectLock, error) {
	l, err := lockHeaders(h, bi, now)
	if err != nil {
		return nil, err
	}
	return withDefaultRetention(l, bi, now), nil
}

// setLockHeaders answers GET and HEAD with m's retention and legal hold, each only to a
// requester allowed to read it (s3:GetObjectRetention, s3:GetObjectLegalHold), as S3 does.
func (s *Server) setLockHeaders(h http.Header, q *request, m *objectMeta) {
	l := m.Lock
	if l == nil || q.auth == nil {
		return
	}
	if l.Mode != "" && s.authorizeAction(q.r, "s3:GetObjectRetention", q.bucket, q.key, q.auth) == nil {
		h.Set("X-Amz-Object-Lock-Mode", l.Mode)
		h.Set("X-Amz-Object-Lock-Retain-Until-Date", lockTime(l.RetainUntil))
	}
	if l.LegalHold != "" && s.authorizeAction(q.r, "s3:GetObjectLegalHold", q.bucket, q.key, q.auth) == nil {
		h.Set("X-Amz-Object-Lock-Legal-Hold", l.LegalHold)
	}
}

// bypassGovernance reports whether q asks to bypass GOVERNANCE retention and may: the
// header x-amz-bypass-governance-retention: true and s3:BypassGovernanceRetention on key
// ("*" for a request on many keys).
func (s *Server) bypassGovernance(q *request, key string) bool {
	if !strings.EqualFold(q.r.Header.Get("X-Amz-Bypass-Governance-Retention"), "true") || q.auth == nil {
		return false
	}
	return s.authorizeAction(q.r, "s3:BypassGovernanceRetention", q.bucket, key, q.auth) == nil
}

// lockedBucket returns the record of q's bucket if it has Object Lock, else 400
// InvalidRequest, as S3 answers the retention and legal hold operations.
func (s *Server) lockedBucket(q *request) (bucketInfo, error) {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return bi, err
	}
	if bi.ObjectLock == nil {
		return bi, errLockNotEnabled
	}
	return bi, nil
}
