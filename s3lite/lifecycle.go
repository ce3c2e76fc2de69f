package s3lite

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// Bucket lifecycle (PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration,
// DeleteBucketLifecycle): the configuration is checked as S3 checks it and kept in the
// bucket record; lifecyclesweep.go applies it.

// maxLifecycleRules is S3's limit of rules in one lifecycle configuration.
const maxLifecycleRules = 1000

// lifecycleConfiguration is S3's LifecycleConfiguration document (also the legacy
// PutBucketLifecycle form, whose rules have a top-level Prefix), kept as parsed in the
// bucket record (bucketInfo.Lifecycle) so that a GET gives back the shape that was put.
type lifecycleConfiguration struct {
	XMLName xml.Name        `xml:"LifecycleConfiguration" json:"-"`
	Xmlns   string          `xml:"xmlns,attr,omitempty" json:"-"`
	Rules   []lifecycleRule `xml:"Rule" json:"rules"`
}

// lifecycleRule is one Rule. Pointers tell an absent element from an empty one.
type lifecycleRule struct {
	ID                             string                  `xml:"ID,omitempty" json:"id,omitempty"`
	Filter                         *lifecycleFilter        `xml:"Filter" json:"filter,omitempty"`
	Prefix                         *string                 `xml:"Prefix" json:"prefix,omitempty"`
	Status                         string                  `xml:"Status" json:"status"`
	Expiration                     *lcExpiration           `xml:"Expiration" json:"exp,omitempty"`
	Transitions                    []lcTransition          `xml:"Transition" json:"tr,omitempty"`
	NoncurrentVersionTransitions   []lcTransition          `xml:"NoncurrentVersionTransition" json:"nctr,omitempty"`
	NoncurrentVersionExpiration    *lcNoncurrentExpiration `xml:"NoncurrentVersionExpiration" json:"ncexp,omitempty"`
	AbortIncompleteMultipartUpload *struct {
		DaysAfterInitiation int `xml:"DaysAfterInitiation" json:"days"`
	} `xml:"AbortIncompleteMultipartUpload" json:"abort,omitempty"`
}

// lifecycleFilter is a rule's Filter: at most one of its elements (And for several).
type lifecycleFilter struct {
	Prefix                *string `xml:"Prefix" json:"prefix,omitempty"`
	Tag                   *lcTag  `xml:"Tag" json:"tag,omitempty"`
	ObjectSizeGreaterThan *int64  `xml:"ObjectSizeGreaterThan" json:"gt,omitempty"`
	ObjectSizeLessThan    *int64  `xml:"ObjectSizeLessThan" json:"lt,omitempty"`
	And                   *struct {
		Prefix                *string `xml:"Prefix" json:"prefix,omitempty"`
		Tags                  []lcTag `xml:"Tag" json:"tags,omitempty"`
		ObjectSizeGreaterThan *int64  `xml:"ObjectSizeGreaterThan" json:"gt,omitempty"`
		ObjectSizeLessThan    *int64  `xml:"ObjectSizeLessThan" json:"lt,omitempty"`
	} `xml:"And" json:"and,omitempty"`
}

type lcTag struct {
	Key   string `xml:"Key" json:"k"`
	Value string `xml:"Value" json:"v"`
}

type lcExpiration struct {
	Days                      *int    `xml:"Days" json:"days,omitempty"`
	Date                      *string `xml:"Date" json:"date,omitempty"`
	ExpiredObjectDeleteMarker *bool   `xml:"ExpiredObjectDeleteMarker" json:"dm,omitempty"`
}

type lcTransition struct {
	Days           *int    `xml:"Days" json:"days,omitempty"`
	NoncurrentDays *int    `xml:"NoncurrentDays" json:"ncdays,omitempty"`
	Date           *string `xml:"Date" json:"date,omitempty"`
	StorageClass   string  `xml:"StorageClass" json:"sc"`
}

type lcNoncurrentExpiration struct {
	NoncurrentDays          *int `xml:"NoncurrentDays" json:"days,omitempty"`
	NewerNoncurrentVersions *int `xml:"NewerNoncurrentVersions" json:"newer,omitempty"`
}

// transitionClasses are the storage classes S3 transitions to.
var transitionClasses = map[string]bool{"GLACIER": true, "STANDARD_IA": true, "ONEZONE_IA": true,
	"INTELLIGENT_TIERING": true, "DEEP_ARCHIVE": true, "GLACIER_IR": true}

// parseLifecycle decodes and checks a LifecycleConfiguration body as S3 does: schema
// errors are MalformedXML, bad values InvalidArgument, impossible combinations
// InvalidRequest. A rule without an ID gets a random one, as in S3. Transitions that
// pass S3's checks are refused with InvalidStorageClass: kmsbox keeps every object in
// STANDARD and has no tier to move it to (MinIO answers the same without a tier).
func parseLifecycle(data []byte) (*lifecycleConfiguration, error) {
	var c lifecycleConfiguration
	if err := readXML(bytesReader(data), &c); err != nil {
		return nil, err
	}
	if len(c.Rules) == 0 {
		return nil, withMsg(errMalformedXML, "A lifecycle configuration must have at least one Rule.")
	}
	if len(c.Rules) > maxLifecycleRules {
		return nil, withMsg(errInvalidRequest, "The lifecycle configuration must have at most 1000 rules.")
	}
	ids := map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.ID == "" {
			r.ID = randomRuleID()
		}
		if len(r.ID) > 255 {
			return nil, withMsg(errInvalidArgument, "ID length should not exceed allowed limit of 255")
		}
		if ids[r.ID] {
			return nil, withMsg(errInvalidArgument, "Rule ID must be unique. Found same ID for more than one rule")
		}
		ids[r.ID] = true
		if err := r.check(); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// randomRuleID is the ID S3 gives a rule put without one.
func randomRuleID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return strings.TrimRight(base32.StdEncoding.EncodeToString(b[:]), "=")
}

func (r *lifecycleRule) check() error {
	if r.Status != "Enabled" && r.Status != "Disabled" {
		return withMsg(errMalformedXML, "The Status of a rule must be Enabled or Disabled.")
	}
	if (r.Filter == nil) == (r.Prefix == nil) {
		return withMsg(errMalformedXML, "A rule must have exactly one of Filter and Prefix.")
	}
	hasTags := false
	if f := r.Filter; f != nil {
		n := 0
		for _, set := range []bool{f.Prefix != nil, f.Tag != nil, f.And != nil, f.ObjectSizeGreaterThan != nil, f.ObjectSizeLessThan != nil} {
			if set {
				n++
			}
		}
		if n > 1 {
			return withMsg(errMalformedXML, "A Filter must have at most one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan and And.")
		}
		tags := []lcTag{}
		if f.Tag != nil {
			tags = append(tags, *f.Tag)
		}
		gt, lt := f.ObjectSizeGreaterThan, f.ObjectSizeLessThan
		if a := f.And; a != nil {
			tags = append(tags, a.Tags...)
			gt, lt = a.ObjectSizeGreaterThan, a.ObjectSizeLessThan
		}
		if err := checkLifecycleTags(tags); err != nil {
			return err
		}
		hasTags = len(tags) > 0
		if gt != nil && *gt < 0 || lt != nil && *lt <= 0 {
			return withMsg(errInvalidArgument, "ObjectSizeGreaterThan must not be negative and ObjectSizeLessThan must be positive.")
		}
		if gt != nil && lt != nil && *gt >= *lt {
			return withMsg(errInvalidArgument, "ObjectSizeGreaterThan must be less than ObjectSizeLessThan.")
		}
	}
	if r.Expiration == nil && r.NoncurrentVersionExpiration == nil && r.AbortIncompleteMultipartUpload == nil &&
		len(r.Transitions) == 0 && len(r.NoncurrentVersionTransitions) == 0 {
		return withMsg(errInvalidRequest, "At least one action needs to be specified in a rule")
	}
	if e := r.Expiration; e != nil {
		if err := e.check(hasTags); err != nil {
			return err
		}
	}
	if e := r.NoncurrentVersionExpiration; e != nil {
		if e.NoncurrentDays == nil || *e.NoncurrentDays <= 0 {
			return withMsg(errInvalidArgument, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
		}
		if n := e.NewerNoncurrentVersions; n != nil && (*n < 1 || *n > 100) {
			return withMsg(errInvalidArgument, "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to 100")
		}
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		if a.DaysAfterInitiation <= 0 {
			return withMsg(errInvalidArgument, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
		}
		if hasTags {
			return withMsg(errInvalidRequest, "Tag-based filter cannot be used with AbortIncompleteMultipartUpload action.")
		}
	}
	for _, t := range r.Transitions {
		if err := t.check(false); err != nil {
			return err
		}
	}
	for _, t := range r.NoncurrentVersionTransitions {
		if err := t.check(true); err != nil {
			return err
		}
	}
	if len(r.Transitions) > 0 || len(r.NoncurrentVersionTransitions) > 0 {
		return withMsg(errInvalidStorageClass, "The storage class you specified is not valid: kmsbox keeps every object in STANDARD and has no tier to transition to.")
	}
	return nil
}

func checkLifecycleTags(tags []lcTag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return withMsg(errInvalidArgument, "A tag key must be 1 to 128 characters long and its value at most 256.")
		}
		if seen[t.Key] {
			return withMsg(errInvalidRequest, "Duplicate Tag Keys are not allowed.")
		}
		seen[t.Key] = true
	}
	return nil
}

func (e *lcExpiration) check(hasTags bool) error {
	n := 0
	for _, set := range []bool{e.Days != nil, e.Date != nil, e.ExpiredObjectDeleteMarker != nil} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return withMsg(errMalformedXML, "An Expiration needs Days, Date or ExpiredObjectDeleteMarker.")
	case n > 1 && e.ExpiredObjectDeleteMarker != nil:
		return withMsg(errMalformedXML, "ExpiredObjectDeleteMarker cannot be specified with Days or Date in a Lifecycle Expiration Policy.")
	case n > 1:
		return withMsg(errMalformedXML, "An Expiration can have only one of Days and Date.")
	case e.Days != nil && *e.Days <= 0:
		return withMsg(errInvalidArgument, "'Days' for Expiration action must be a positive integer")
	case e.Date != nil:
		t, err := parseLifecycleDate(*e.Date)
		if err != nil {
			return err
		}
		d := t.Format(lifecycleDateFormat)
		e.Date = &d
	case e.ExpiredObjectDeleteMarker != nil && hasTags:
		return withMsg(errInvalidRequest, "ExpiredObjectDeleteMarker cannot be specified with Tags.")
	}
	return nil
}

func (t *lcTransition) check(noncurrent bool) error {
	switch {
	case noncurrent && (t.Days != nil || t.Date != nil):
		return withMsg(errMalformedXML, "A NoncurrentVersionTransition takes NoncurrentDays only.")
	case noncurrent && t.NoncurrentDays == nil:
		return withMsg(errMalformedXML, "A NoncurrentVersionTransition needs NoncurrentDays.")
	case noncurrent && *t.NoncurrentDays < 0:
		return withMsg(errInvalidArgument, "'NoncurrentDays' for NoncurrentVersionTransition action must be a nonnegative integer")
	case !noncurrent && (t.Days == nil) == (t.Date == nil), !noncurrent && t.NoncurrentDays != nil:
		return withMsg(errMalformedXML, "A Transition needs exactly one of Days and Date.")
	case t.Days != nil && *t.Days < 0:
		return withMsg(errInvalidArgument, "'Days' for Transition action must be a nonnegative integer")
	case t.Date != nil:
		if _, err := parseLifecycleDate(*t.Date); err != nil {
			return err
		}
	}
	if !transitionClasses[t.StorageClass] {
		return withMsg(errMalformedXML, "The StorageClass of a transition must be one S3 transitions to.")
	}
	return nil
}

// lifecycleDateFormat is how a rule's Date is given back.
const lifecycleDateFormat = "2006-01-02T15:04:05.000Z"

// parseLifecycleDate parses a rule's Date (ISO 8601), which S3 accepts only at midnight UTC.
func parseLifecycleDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	var err error
	if len(s) == len("2006-01-02") {
		t, err = time.Parse("2006-01-02", s)
	} else {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		return time.Time{}, withMsg(errMalformedXML, "The Date of a lifecycle rule must be an ISO 8601 date.")
	}
	t = t.UTC()
	if !t.Equal(t.Truncate(24 * time.Hour)) {
		return time.Time{}, withMsg(errInvalidArgument, "'Date' must be at midnight GMT")
	}
	return t, nil
}

// putBucketLifecycle answers PutBucketLifecycleConfiguration (and the legacy
// PutBucketLifecycle).
func (s *Server) putBucketLifecycle(w http.ResponseWriter, q *request) error {
	return putBucketConfig(s, w, q, parseLifecycle, func(bi *bucketInfo, c *lifecycleConfiguration) { bi.Lifecycle = c })
}

// getBucketLifecycle answers GetBucketLifecycleConfiguration: 404
// NoSuchLifecycleConfiguration when none is set.
func (s *Server) getBucketLifecycle(w http.ResponseWriter, q *request) error {
	return s.getBucketConfig(w, q, errNoSuchLifecycleConfig, func(bi *bucketInfo) (any, bool) {
		if bi.Lifecycle == nil {
			return nil, false
		}
		out := *bi.Lifecycle
		out.Xmlns = s3NS
		return out, true
	})
}

// deleteBucketLifecycle answers DeleteBucketLifecycle: 204, set or not.
func (s *Server) deleteBucketLifecycle(w http.ResponseWriter, q *request) error {
	return s.deleteBucketConfig(w, q, func(bi *bucketInfo) { bi.Lifecycle = nil })
}
