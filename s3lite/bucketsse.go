package s3lite

import (
	"net/http"
	"strings"
)

// putBucketEncryption sets a bucket's default encryption.
func (s *Server) putBucketEncryption(w http.ResponseWriter, q *request) error {
	if err := s.st.bucketExists(q.r.Context(), q.bucket); err != nil {
		return err
	}
	var cfg sseConfiguration
	if err := readXML(q.body, &cfg); err != nil {
		return err
	}
	sse, err := parseBucketSSE(&cfg)
	if err != nil {
		return err
	}
	if s.cfg.KMS == nil {
		return errKMSNotConfigured
	}
	if sse.Algorithm == "aws:kms" {
		// Validate the key as MinIO does: generate one data key with it.
		if _, err := s.cfg.KMS.GenerateKey(q.r.Context(), sse.KeyID, []byte(`{"MinIO admin API":"ServerInfoHandler"}`)); err != nil {
			return kmsErr(errKMSGenerate, err)
		}
	}
	if err := s.st.setBucketEncryption(q.r.Context(), q.bucket, sse); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// parseBucketSSE checks the rules of a ServerSideEncryptionConfiguration.
func parseBucketSSE(cfg *sseConfiguration) (*bucketSSE, error) {
	if len(cfg.Rules) != 1 {
		return nil, withMsg(errMalformedXML, "The server side encryption configuration must have exactly one rule.")
	}
	a := cfg.Rules[0].Apply
	switch a.SSEAlgorithm {
	case "AES256":
		if a.KMSMasterKeyID != "" {
			return nil, withMsg(errMalformedXML, "KMSMasterKeyID is allowed only with aws:kms.")
		}
		return &bucketSSE{Algorithm: "AES256"}, nil
	case "aws:kms":
		raw := strings.TrimSpace(a.KMSMasterKeyID)
		id := strings.TrimPrefix(raw, arnPrefix)
		if id == "" {
			return nil, withMsg(errMalformedXML, "KMSMasterKeyID is required with aws:kms.")
		}
		if !validKMSKeyID(id) {
			return nil, errInvalidKMSKeyID
		}
		return &bucketSSE{Algorithm: "aws:kms", KeyID: id, ARN: id != raw}, nil
	}
	return nil, withMsg(errMalformedXML, "The SSEAlgorithm must be AES256 or aws:kms.")
}

// getBucketEncryption returns a bucket's default encryption.
func (s *Server) getBucketEncryption(w http.ResponseWriter, q *request) error {
	bi, err := s.st.getBucket(q.r.Context(), q.bucket)
	if err != nil {
		return err
	}
	if bi.Encryption == nil {
		return errNoEncryptionConfig
	}
	var cfg sseConfiguration
	cfg.Xmlns = s3NS
	cfg.Rules = make([]struct {
		Apply struct {
			SSEAlgorithm   string `xml:"SSEAlgorithm"`
			KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
		} `xml:"ApplyServerSideEncryptionByDefault"`
		BucketKeyEnabled *bool `xml:"BucketKeyEnabled,omitempty"`
	}, 1)
	cfg.Rules[0].Apply.SSEAlgorithm = bi.Encryption.Algorithm
	cfg.Rules[0].Apply.KMSMasterKeyID = kmsKeyIDAsSent(bi.Encryption.KeyID, bi.Encryption.ARN)
	writeXML(w, http.StatusOK, cfg)
	return nil
}

// deleteBucketEncryption removes a bucket's default encryption.
func (s *Server) deleteBucketEncryption(w http.ResponseWriter, q *request) error {
	if err := s.st.setBucketEncryption(q.r.Context(), q.bucket, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
