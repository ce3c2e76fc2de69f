package s3lite

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The KMS key id is echoed as the client named it, plain or in arn form, on PUT, HEAD,
// multipart uploads and through a bucket's default encryption (ceph s3-tests expect the
// plain id back; MinIO clients that send the arn form get it back).
func TestKMSKeyIDEchoedAsSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("kmsid")
	for _, sent := range []string{testKeyID, arnPrefix + testKeyID} {
		put, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(sent), Body: bytes.NewReader([]byte("x")),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(sent)})
		if err != nil || aws.ToString(put.SSEKMSKeyId) != sent {
			t.Errorf("PUT with %q: key id %q, %v", sent, aws.ToString(put.SSEKMSKeyId), err)
		}
		head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(sent)})
		if err != nil || aws.ToString(head.SSEKMSKeyId) != sent {
			t.Errorf("HEAD of %q: key id %q, %v", sent, aws.ToString(head.SSEKMSKeyId), err)
		}
		up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp"),
			ServerSideEncryption: types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String(sent)})
		if err != nil || aws.ToString(up.SSEKMSKeyId) != sent {
			t.Errorf("CreateMultipartUpload with %q: key id %q, %v", sent, aws.ToString(up.SSEKMSKeyId), err)
		}

		d := e.bucket("dflt" + map[bool]string{true: "arn", false: "plain"}[sent != testKeyID])
		_, err = e.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(d), ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
			Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(sent)}}}}})
		if err != nil {
			t.Fatal(err)
		}
		conf, err := e.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(d)})
		if err != nil || aws.ToString(conf.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != sent {
			t.Errorf("GetBucketEncryption after %q: %v", sent, err)
		}
		put, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d), Key: aws.String("o"), Body: bytes.NewReader([]byte("x"))})
		if err != nil || aws.ToString(put.SSEKMSKeyId) != sent {
			t.Errorf("PUT under a default of %q: key id %q, %v", sent, aws.ToString(put.SSEKMSKeyId), err)
		}
	}
}
