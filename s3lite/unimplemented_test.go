package s3lite

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestUnsetConfigurations: the GETs Terraform's AWS provider makes on every bucket answer
// as S3 does for a configuration never set, through aws-sdk-go-v2; a missing bucket is
// NoSuchBucket.
func TestUnsetConfigurations(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := aws.String(e.bucket("unset"))
	if _, err := e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b}); s3Code(err) != "NoSuchWebsiteConfiguration" {
		t.Errorf("GetBucketWebsite: %v", err)
	}
	if _, err := e.s3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: b}); s3Code(err) != "ReplicationConfigurationNotFoundError" {
		t.Errorf("GetBucketReplication: %v", err)
	}
	if _, err := e.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: b}); s3Code(err) != "ObjectLockConfigurationNotFoundError" {
		t.Errorf("GetObjectLockConfiguration: %v", err)
	}
	if out, err := e.s3.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: b}); err != nil || out.LoggingEnabled != nil {
		t.Errorf("GetBucketLogging: %+v %v", out, err)
	}
	if out, err := e.s3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: b}); err != nil ||
		len(out.TopicConfigurations)+len(out.QueueConfigurations)+len(out.LambdaFunctionConfigurations) != 0 {
		t.Errorf("GetBucketNotificationConfiguration: %+v %v", out, err)
	}
	if out, err := e.s3.GetBucketAccelerateConfiguration(ctx, &s3.GetBucketAccelerateConfigurationInput{Bucket: b}); err != nil || out.Status != "" {
		t.Errorf("GetBucketAccelerateConfiguration: %+v %v", out, err)
	}
	if out, err := e.s3.GetBucketRequestPayment(ctx, &s3.GetBucketRequestPaymentInput{Bucket: b}); err != nil || out.Payer != s3types.PayerBucketOwner {
		t.Errorf("GetBucketRequestPayment: %+v %v", out, err)
	}
	if _, err := e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: aws.String("nosuchbucket")}); s3Code(err) != "NoSuchBucket" {
		t.Errorf("GetBucketWebsite of a missing bucket: %v", err)
	}
	if _, err := e.s3.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: aws.String("nosuchbucket")}); s3Code(err) != "NoSuchBucket" {
		t.Errorf("GetBucketLogging of a missing bucket: %v", err)
	}
}

// TestUnimplementedOperations: every operation s3lite lacks answers 501 NotImplemented
// in S3's XML, naming the operation, after authentication.
func TestUnimplementedOperations(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("unimpl")
	putPlain(t, e, b, "k", []byte("x"))
	if _, err := e.s3.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: aws.String(b), WebsiteConfiguration: &s3types.WebsiteConfiguration{
		IndexDocument: &s3types.IndexDocument{Suffix: aws.String("index.html")}}}); s3Code(err) != "NotImplemented" {
		t.Errorf("aws PutBucketWebsite: %v", err)
	}
	for _, c := range []struct{ method, path, op string }{
		{"PUT", "/" + b + "?website", "PutBucketWebsite"},
		{"DELETE", "/" + b + "?website", "DeleteBucketWebsite"},
		{"PUT", "/" + b + "?replication", "PutBucketReplication"},
		{"DELETE", "/" + b + "?replication", "DeleteBucketReplication"},
		{"PUT", "/" + b + "?notification", "PutBucketNotificationConfiguration"},
		{"PUT", "/" + b + "?accelerate", "PutBucketAccelerateConfiguration"},
		{"PUT", "/" + b + "?requestPayment", "PutBucketRequestPayment"},
		{"POST", "/" + b + "/k?restore", "RestoreObject"},
		{"POST", "/" + b + "/k?select&select-type=2", "SelectObjectContent"},
		{"GET", "/" + b + "/k?torrent", "GetObjectTorrent"},
		{"GET", "/" + b + "?analytics&id=a", "GetBucketAnalyticsConfiguration"},
		{"GET", "/" + b + "?inventory&id=a", "GetBucketInventoryConfiguration"},
		{"PUT", "/" + b + "?metrics&id=a", "PutBucketMetricsConfiguration"},
		{"DELETE", "/" + b + "?intelligent-tiering&id=a", "DeleteBucketIntelligentTieringConfiguration"},
		{"GET", "/" + b + "?somethingnew", "somethingnew"},
	} {
		req, _ := http.NewRequest(c.method, e.ts.URL+c.path, nil)
		st, out := e.doSigned(t, req)
		if st != 501 || !strings.Contains(string(out), "<Code>NotImplemented</Code>") || !strings.Contains(string(out), c.op) {
			t.Errorf("%s %s: %d %s", c.method, c.path, st, out)
		}
	}
	// Unsigned: an anonymous request for an operation s3lite lacks is denied.
	resp, err := e.ts.Client().Do(mustRequest(t, http.MethodPut, e.ts.URL+"/"+b+"?website", ""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("unsigned PutBucketWebsite: %d", resp.StatusCode)
	}
}
