package s3lite

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"time"
)

// Server access logging configuration: PutBucketLogging and GetBucketLogging
// (?logging on a bucket). The records and their delivery are in accesslog.go.

// loggingNS is the namespace S3 writes BucketLoggingStatus in (older than s3NS).
const loggingNS = "http://doc.s3.amazonaws.com/2006-03-01"

// bucketLogging is a bucket's server access logging configuration as stored in its record.
type bucketLogging struct {
	Target string `json:"target"`
	Prefix string `json:"prefix,omitempty"`
	// Partitioned selects the PartitionedPrefix key format; DateSource is its
	// PartitionDateSource ("EventTime" or "DeliveryTime").
	Partitioned bool   `json:"part,omitempty"`
	DateSource  string `json:"dateSrc,omitempty"`
	// Modified is when the configuration last changed (GetBucketLogging's Last-Modified).
	Modified time.Time `json:"mod"`
}

// sameAs reports whether b and o configure the same delivery (nil: logging off).
func (b *bucketLogging) sameAs(o *bucketLogging) bool {
	if b == nil || o == nil {
		return b == o
	}
	return b.Target == o.Target && b.Prefix == o.Prefix && b.Partitioned == o.Partitioned && b.DateSource == o.DateSource
}

// loggingStatusXML is the BucketLoggingStatus document of PutBucketLogging and
// GetBucketLogging.
type loggingStatusXML struct {
	XMLName        xml.Name           `xml:"BucketLoggingStatus"`
	Xmlns          string             `xml:"xmlns,attr,omitempty"`
	LoggingEnabled *loggingEnabledXML `xml:"LoggingEnabled"`
}

type loggingEnabledXML struct {
	TargetBucket string `xml:"TargetBucket"`
	TargetPrefix string `xml:"TargetPrefix"`
	// TargetGrants are accepted and ignored: log objects belong to the bucket owner.
	TargetGrants          *struct{}     `xml:"TargetGrants"`
	TargetObjectKeyFormat *keyFormatXML `xml:"TargetObjectKeyFormat"`
}

type keyFormatXML struct {
	SimplePrefix      *struct{}       `xml:"SimplePrefix"`
	PartitionedPrefix *partitionedXML `xml:"PartitionedPrefix"`
}

type partitionedXML struct {
	PartitionDateSource string `xml:"PartitionDateSource,omitempty"`
}

// parseLoggingStatus parses a PutBucketLogging body: nil when it turns logging off (no
// LoggingEnabled). Errors are MalformedXML, as S3 answers a document that does not
// validate against its schema.
func parseLoggingStatus(data []byte) (*bucketLogging, error) {
	var doc loggingStatusXML
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&doc); err != nil {
		return nil, errors.Join(errMalformedXML, err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errMalformedXML
	}
	le := doc.LoggingEnabled
	if le == nil {
		return nil, nil
	}
	if le.TargetBucket == "" {
		return nil, errMalformedXML
	}
	cfg := &bucketLogging{Target: le.TargetBucket, Prefix: le.TargetPrefix}
	if f := le.TargetObjectKeyFormat; f != nil {
		if f.SimplePrefix != nil && f.PartitionedPrefix != nil {
			return nil, errMalformedXML
		}
		if p := f.PartitionedPrefix; p != nil {
			switch p.PartitionDateSource {
			case "EventTime", "DeliveryTime":
			case "":
				// S3's default.
				p.PartitionDateSource = "EventTime"
			default:
				return nil, errMalformedXML
			}
			cfg.Partitioned, cfg.DateSource = true, p.PartitionDateSource
		}
	}
	return cfg, nil
}

// document is cfg as GetBucketLogging answers it (an empty status for nil).
func (cfg *bucketLogging) document() loggingStatusXML {
	doc := loggingStatusXML{Xmlns: loggingNS}
	if cfg == nil {
		return doc
	}
	f := &keyFormatXML{SimplePrefix: &struct{}{}}
	if cfg.Partitioned {
		f = &keyFormatXML{PartitionedPrefix: &partitionedXML{PartitionDateSource: cfg.DateSource}}
	}
	doc.LoggingEnabled = &loggingEnabledXML{TargetBucket: cfg.Target, TargetPrefix: cfg.Prefix, TargetObjectKeyFormat: f}
	return doc
}

// putBucketLogging answers PutBucketLogging. The target bucket must exist, be another
// bucket, not log itself, not default to SSE-KMS (S3 delivers logs only to buckets with
// SSE-S3 or no default encryption), and its policy must let the logging service
// (logging.s3.amazonaws.com) put objects under the prefix for this source bucket.
func (s *Server) putBucketLogging(w http.ResponseWriter, q *request) error {
	data, err := io.ReadAll(q.body)
	if err != nil {
		return err
	}
	if hasIntegrityHeader(q) {
		if err := verifyBodyIntegrity(q, data); err != nil {
			return err
		}
	}
	ctx := q.r.Context()
	if err := s.st.bucketExists(ctx, q.bucket); err != nil {
		return err
	}
	cfg, err := parseLoggingStatus(data)
	if err != nil {
		return err
	}
	if cfg != nil {
		if err := s.checkLogTarget(q, cfg); err != nil {
			return err
		}
	}
	now := s.now().UTC().Truncate(time.Second)
	var old *bucketLogging
	if err := s.st.updateBucket(ctx, q.bucket, func(bi *bucketInfo) error {
		old = bi.Logging
		if cfg != nil {
			cfg.Modified = now
			if cfg.sameAs(old) {
				cfg.Modified = old.Modified
			}
		}
		bi.Logging = cfg
		return nil
	}); err != nil {
		return err
	}
	if !cfg.sameAs(old) {
		s.configureAccessLog(q.bucket, cfg)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// checkLogTarget checks the target bucket of cfg, the logging configuration asked for q's bucket.
func (s *Server) checkLogTarget(q *request, cfg *bucketLogging) error {
	if cfg.Target == q.bucket {
		return withMsg(errInvalidArgument, "The target bucket for logging cannot be the source bucket.")
	}
	tb, err := s.st.getBucket(q.r.Context(), cfg.Target)
	if errors.Is(err, errNoSuchBucket) {
		return errInvalidTargetBucket
	}
	if err != nil {
		return err
	}
	if tb.Logging != nil {
		return withMsg(errInvalidArgument, "The target bucket for logging has server access logging enabled itself.")
	}
	if tb.Encryption != nil && tb.Encryption.Algorithm != "AES256" {
		return withMsg(errInvalidArgument, "The target bucket for logging must not default to SSE-KMS encryption.")
	}
	if !s.logDeliveryAllowed(&tb, q.bucket, cfg.Prefix) {
		return withMsg(errAccessDenied, "Logging bucket "+cfg.Target+" policy does not allow log delivery from "+q.bucket+".")
	}
	return nil
}

// logDeliveryAllowed reports whether the policy of the target bucket tb allows the
// logging service to put log objects under prefix for the source bucket src.
func (s *Server) logDeliveryAllowed(tb *bucketInfo, src, prefix string) bool {
	doc := s.policies.get(tb.Name, tb.Policy)
	pr := &policyRequest{action: "s3:PutObject", resource: tb.Name + "/" + prefix, service: logDeliveryService,
		keys: map[string][]string{
			"aws:sourcearn":     {arnS3Prefix + src},
			"aws:sourceaccount": {s.owner(&request{}).ID},
		}}
	return doc.evaluate(pr) == policyAllow
}

// logDeliveryService is the service principal of server access log delivery.
const logDeliveryService = "logging.s3.amazonaws.com"

// getBucketLogging answers GetBucketLogging: an empty BucketLoggingStatus when logging
// is off.
func (s *Server) getBucketLogging(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	if bi.Logging != nil {
		w.Header().Set("Last-Modified", bi.Logging.Modified.UTC().Format(http.TimeFormat))
	}
	writeXML(w, http.StatusOK, bi.Logging.document())
	return nil
}
