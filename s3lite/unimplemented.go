package s3lite

import (
	"encoding/xml"
	"net/http"
)

// S3 operations s3lite does not offer (the list is in doc.go and the README). Every one
// answers 501 NotImplemented in S3's XML after authentication, except the GETs of bucket
// configurations that infrastructure tools read on every bucket (Terraform's AWS provider
// does): those answer what S3 answers for a bucket where the configuration was never set.

// unimplementedOps names the operations behind the subresources routed here, for the 501
// message: method, level and subresource -> S3 operation.
var unimplementedOps = map[string]string{
	"PUT bucket website":                "PutBucketWebsite",
	"DELETE bucket website":             "DeleteBucketWebsite",
	"PUT bucket replication":            "PutBucketReplication",
	"DELETE bucket replication":         "DeleteBucketReplication",
	"PUT bucket notification":           "PutBucketNotificationConfiguration",
	"PUT bucket accelerate":             "PutBucketAccelerateConfiguration",
	"PUT bucket requestPayment":         "PutBucketRequestPayment",
	"POST object restore":               "RestoreObject",
	"POST object select":                "SelectObjectContent",
	"GET object torrent":                "GetObjectTorrent",
	"GET bucket analytics":              "GetBucketAnalyticsConfiguration",
	"PUT bucket analytics":              "PutBucketAnalyticsConfiguration",
	"DELETE bucket analytics":           "DeleteBucketAnalyticsConfiguration",
	"GET bucket inventory":              "GetBucketInventoryConfiguration",
	"PUT bucket inventory":              "PutBucketInventoryConfiguration",
	"DELETE bucket inventory":           "DeleteBucketInventoryConfiguration",
	"GET bucket metrics":                "GetBucketMetricsConfiguration",
	"PUT bucket metrics":                "PutBucketMetricsConfiguration",
	"DELETE bucket metrics":             "DeleteBucketMetricsConfiguration",
	"GET bucket intelligent-tiering":    "GetBucketIntelligentTieringConfiguration",
	"PUT bucket intelligent-tiering":    "PutBucketIntelligentTieringConfiguration",
	"DELETE bucket intelligent-tiering": "DeleteBucketIntelligentTieringConfiguration",
}

// notImplemented is the error of a request no route serves, or that has a query key s3lite
// does not know (unsupported, nil if none): 501 NotImplemented, naming the S3 operation
// when it is one of unimplementedOps.
func notImplemented(method string, lvl level, sub string, unsupported error) error {
	l := "bucket"
	if lvl == levelObject {
		l = "object"
	}
	if op, ok := unimplementedOps[method+" "+l+" "+sub]; ok {
		return withMsg(errNotImplemented, op+" is not implemented by this server")
	}
	if unsupported != nil {
		return unsupported
	}
	return errNotImplemented
}

// getBucketWebsite answers GetBucketWebsite: no website is ever configured.
func (s *Server) getBucketWebsite(_ http.ResponseWriter, q *request) error {
	return s.neverSet(q, errNoSuchWebsiteConfig)
}

// getBucketReplication answers GetBucketReplication: no replication is ever configured.
func (s *Server) getBucketReplication(_ http.ResponseWriter, q *request) error {
	return s.neverSet(q, errNoReplicationConfig)
}

// neverSet is the answer notSet of a GET of a configuration S3 answers with an error when
// it was never set, if the bucket exists.
func (s *Server) neverSet(q *request, notSet error) error {
	if err := s.st.bucketExists(q.r.Context(), q.bucket); err != nil {
		return err
	}
	return notSet
}

type notificationConfiguration struct {
	XMLName xml.Name `xml:"NotificationConfiguration"`
	Xmlns   string   `xml:"xmlns,attr"`
}

type accelerateConfiguration struct {
	XMLName xml.Name `xml:"AccelerateConfiguration"`
	Xmlns   string   `xml:"xmlns,attr"`
}

type requestPaymentConfiguration struct {
	XMLName xml.Name `xml:"RequestPaymentConfiguration"`
	Xmlns   string   `xml:"xmlns,attr"`
	Payer   string   `xml:"Payer"`
}

// getBucketNotification answers GetBucketNotificationConfiguration: no notifications.
func (s *Server) getBucketNotification(w http.ResponseWriter, q *request) error {
	return s.unsetConfig(w, q, notificationConfiguration{Xmlns: s3NS})
}

// getBucketAccelerate answers GetBucketAccelerateConfiguration: never set (no Status).
func (s *Server) getBucketAccelerate(w http.ResponseWriter, q *request) error {
	return s.unsetConfig(w, q, accelerateConfiguration{Xmlns: s3NS})
}

// getBucketRequestPayment answers GetBucketRequestPayment: the owner pays.
func (s *Server) getBucketRequestPayment(w http.ResponseWriter, q *request) error {
	return s.unsetConfig(w, q, requestPaymentConfiguration{Xmlns: s3NS, Payer: "BucketOwner"})
}

// unsetConfig answers 200 with doc, the document of a configuration never set, if the
// bucket exists.
func (s *Server) unsetConfig(w http.ResponseWriter, q *request, doc any) error {
	if err := s.st.bucketExists(q.r.Context(), q.bucket); err != nil {
		return err
	}
	writeXML(w, http.StatusOK, doc)
	return nil
}
