package s3lite

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// logDeliveryPolicy is the policy S3 documents for a log target bucket: the logging
// service may put objects under prefix for the source bucket src of account.
func logDeliveryPolicy(target, prefix, src, account string) string {
	doc := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "logging.s3.amazonaws.com"},
		"Action": []string{"s3:PutObject"}, "Resource": "arn:aws:s3:::" + target + "/" + prefix,
		"Condition": map[string]any{
			"ArnLike":      map[string]any{"aws:SourceArn": "arn:aws:s3:::" + src},
			"StringEquals": map[string]any{"aws:SourceAccount": account},
		},
	}}}
	b, _ := json.Marshal(doc)
	return string(b)
}

// testAccount is the canonical id of testAccess.
func testAccount() string { return (&Server{root: testAccess}).owner(&request{}).ID }

func (e *env) allowLogDelivery(target, prefix, src string) {
	e.t.Helper()
	if _, err := e.s3.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(target),
		Policy: aws.String(logDeliveryPolicy(target, prefix, src, testAccount()))}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) putLogging(src string, le *types.LoggingEnabled) error {
	_, err := e.s3.PutBucketLogging(context.Background(), &s3.PutBucketLoggingInput{Bucket: aws.String(src),
		BucketLoggingStatus: &types.BucketLoggingStatus{LoggingEnabled: le}})
	return err
}

func TestBucketLoggingRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	src, tgt := e.bucket("src"), e.bucket("logs")
	get := func() *s3.GetBucketLoggingOutput {
		t.Helper()
		out, err := e.s3.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: aws.String(src)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := get(); out.LoggingEnabled != nil {
		t.Fatalf("logging on a new bucket: %+v", out.LoggingEnabled)
	}
	le := &types.LoggingEnabled{TargetBucket: aws.String(tgt), TargetPrefix: aws.String("log/")}
	if err := e.putLogging(src, le); s3Code(err) != "AccessDenied" {
		t.Fatalf("target without a delivery policy: %v", err)
	}
	e.allowLogDelivery(tgt, "log/", src)
	t0 := time.Now().UTC().Truncate(time.Second)
	e.now.Store(&t0)
	if err := e.putLogging(src, le); err != nil {
		t.Fatal(err)
	}
	out := get()
	if got := out.LoggingEnabled; got == nil || aws.ToString(got.TargetBucket) != tgt || aws.ToString(got.TargetPrefix) != "log/" ||
		got.TargetObjectKeyFormat == nil || got.TargetObjectKeyFormat.SimplePrefix == nil {
		t.Fatalf("GetBucketLogging: %+v", got)
	}
	// The same configuration again keeps its time; another one moves it.
	t1 := t0.Add(time.Minute)
	e.now.Store(&t1)
	if err := e.putLogging(src, le); err != nil {
		t.Fatal(err)
	}
	le.TargetObjectKeyFormat = &types.TargetObjectKeyFormat{PartitionedPrefix: &types.PartitionedPrefix{PartitionDateSource: types.PartitionDateSourceDeliveryTime}}
	if err := e.putLogging(src, le); err != nil {
		t.Fatal(err)
	}
	got := get().LoggingEnabled
	if got == nil || got.TargetObjectKeyFormat == nil || got.TargetObjectKeyFormat.PartitionedPrefix == nil ||
		got.TargetObjectKeyFormat.PartitionedPrefix.PartitionDateSource != types.PartitionDateSourceDeliveryTime {
		t.Fatalf("partitioned: %+v", got)
	}
	bi, err := e.srv.st.getBucket(ctx, src)
	if err != nil || !bi.Logging.Modified.Equal(t1) {
		t.Fatalf("modified %v after a change at %v (%v)", bi.Logging.Modified, t1, err)
	}
	if err := e.putLogging(src, nil); err != nil {
		t.Fatal(err)
	}
	if out := get(); out.LoggingEnabled != nil {
		t.Fatalf("logging after turning it off: %+v", out.LoggingEnabled)
	}
	if e.srv.alog.source(src) != nil {
		t.Fatal("bucket still logged in memory")
	}
}

func TestBucketLoggingLastModifiedKept(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	src, tgt := e.bucket("src"), e.bucket("logs")
	e.allowLogDelivery(tgt, "p/", src)
	le := &types.LoggingEnabled{TargetBucket: aws.String(tgt), TargetPrefix: aws.String("p/")}
	t0 := time.Now().UTC().Truncate(time.Second)
	e.now.Store(&t0)
	if err := e.putLogging(src, le); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(time.Minute)
	e.now.Store(&t1)
	if err := e.putLogging(src, le); err != nil {
		t.Fatal(err)
	}
	bi, err := e.srv.st.getBucket(ctx, src)
	if err != nil || !bi.Logging.Modified.Equal(t0) {
		t.Fatalf("modified %v after the same configuration again, want %v (%v)", bi.Logging.Modified, t0, err)
	}
}

func TestBucketLoggingErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	src, tgt, other := e.bucket("src"), e.bucket("logs"), e.bucket("other")
	e.allowLogDelivery(tgt, "log/", src)
	e.allowLogDelivery(tgt, "log/", other)
	le := func(target string) *types.LoggingEnabled {
		return &types.LoggingEnabled{TargetBucket: aws.String(target), TargetPrefix: aws.String("log/")}
	}
	cases := []struct {
		name, bucket string
		le           *types.LoggingEnabled
		code         string
	}{
		{"missing source", "nosuch", le(tgt), "NoSuchBucket"},
		{"missing target", src, le("nosuch"), "InvalidTargetBucketForLogging"},
		{"target is source", src, le(src), "InvalidArgument"},
		{"bad date source", src, &types.LoggingEnabled{TargetBucket: aws.String(tgt), TargetPrefix: aws.String("log/"),
			TargetObjectKeyFormat: &types.TargetObjectKeyFormat{PartitionedPrefix: &types.PartitionedPrefix{PartitionDateSource: "kaboom"}}}, "MalformedXML"},
	}
	for _, c := range cases {
		if err := e.putLogging(c.bucket, c.le); s3Code(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	// A target that logs itself is refused.
	if err := e.putLogging(tgt, le(other)); s3Code(err) != "AccessDenied" {
		t.Fatalf("target without policy: %v", err)
	}
	e.allowLogDelivery(other, "log/", tgt)
	if err := e.putLogging(tgt, le(other)); err != nil {
		t.Fatal(err)
	}
	if err := e.putLogging(src, le(tgt)); s3Code(err) != "InvalidArgument" {
		t.Errorf("target with logging: %v", err)
	}
	// A target defaulting to SSE-KMS is refused; SSE-S3 is fine.
	if _, err := e.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(other),
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(testKeyID)}}}}}); err != nil {
		t.Fatal(err)
	}
	e.allowLogDelivery(other, "log/", src)
	if err := e.putLogging(src, le(other)); s3Code(err) != "InvalidArgument" {
		t.Errorf("SSE-KMS target: %v", err)
	}
}

func TestParseLoggingStatus(t *testing.T) {
	cases := []struct {
		body string
		want *bucketLogging
		ok   bool
	}{
		{`<BucketLoggingStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>`, nil, true},
		{`<BucketLoggingStatus><LoggingEnabled><TargetBucket>t</TargetBucket><TargetPrefix>p</TargetPrefix></LoggingEnabled></BucketLoggingStatus>`,
			&bucketLogging{Target: "t", Prefix: "p"}, true},
		{`<BucketLoggingStatus><LoggingEnabled><TargetBucket>t</TargetBucket><TargetPrefix></TargetPrefix><TargetObjectKeyFormat><PartitionedPrefix/></TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>`,
			&bucketLogging{Target: "t", Partitioned: true, DateSource: "EventTime"}, true},
		{`<BucketLoggingStatus><LoggingEnabled><TargetPrefix>p</TargetPrefix></LoggingEnabled></BucketLoggingStatus>`, nil, false},
		{`<BucketLoggingStatus><LoggingEnabled><TargetBucket>t</TargetBucket><TargetObjectKeyFormat><SimplePrefix/><PartitionedPrefix/></TargetObjectKeyFormat></LoggingEnabled></BucketLoggingStatus>`, nil, false},
		{`<BucketLoggingStatus>`, nil, false},
		{`<BucketLoggingStatus/><x/>`, nil, false},
	}
	for _, c := range cases {
		got, err := parseLoggingStatus([]byte(c.body))
		if (err == nil) != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v %v", c.body, got, err)
		}
	}
}

// FuzzParseLoggingStatus: a configuration parseLoggingStatus accepts has a target, a
// valid date source when partitioned, and its GetBucketLogging document parses back to it.
func FuzzParseLoggingStatus(f *testing.F) {
	f.Add([]byte(`<BucketLoggingStatus><LoggingEnabled><TargetBucket>t</TargetBucket><TargetPrefix>p/</TargetPrefix></LoggingEnabled></BucketLoggingStatus>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cfg, err := parseLoggingStatus(body)
		if err != nil || cfg == nil {
			return
		}
		if cfg.Target == "" || cfg.Partitioned != (cfg.DateSource != "") ||
			cfg.Partitioned && cfg.DateSource != "EventTime" && cfg.DateSource != "DeliveryTime" {
			t.Fatalf("accepted %+v", cfg)
		}
		doc, err := xml.Marshal(cfg.document())
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseLoggingStatus(doc)
		if err != nil || !back.sameAs(cfg) {
			t.Fatalf("round trip of %s: %+v %v", doc, back, err)
		}
	})
}
