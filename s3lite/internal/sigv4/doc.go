// Package sigv4 verifies AWS Signature Version 4 (and presigned Version 2) requests for
// s3lite and decodes aws-chunked payloads.
package sigv4
