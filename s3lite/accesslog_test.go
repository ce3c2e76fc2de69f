package s3lite

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// splitRecord splits an access log record into its fields: space separated, "..." and
// [...] each one field, \" an escaped quote.
func splitRecord(t *testing.T, rec string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	var closer byte
	in := false
	for i := 0; i < len(rec); i++ {
		c := rec[i]
		switch {
		case closer != 0 && c == '\\' && i+1 < len(rec) && rec[i+1] == '"':
			cur.WriteByte('"')
			i++
		case closer != 0 && c == closer:
			closer = 0
		case closer == 0 && (c == '"' || c == '['):
			closer, in = '"', true
			if c == '[' {
				closer = ']'
			}
		case closer == 0 && c == ' ':
			if in {
				out = append(out, cur.String())
			}
			cur.Reset()
			in = false
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// logObjects returns the keys and bodies of the objects in bucket.
func (e *env) logObjects(bucket string) map[string]string {
	e.t.Helper()
	ctx := context.Background()
	out, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]string{}
	for _, o := range out.Contents {
		g, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			e.t.Fatal(err)
		}
		b, _ := io.ReadAll(g.Body)
		g.Body.Close()
		m[aws.ToString(o.Key)] = string(b)
	}
	return m
}

// logEnv is a server with a clock the test moves, a source bucket logged into "logs".
func logEnv(t *testing.T, opts ...envOption) (e *env, src, tgt string, clock func(time.Duration)) {
	t.Helper()
	ticks := make(chan time.Time)
	opts = append([]envOption{func(c *Config) { c.logTicks = ticks; c.AccessLogRollTime = 5 * time.Second }}, opts...)
	e = newEnv(t, opts...)
	now := time.Now().UTC()
	e.now.Store(&now)
	clock = func(d time.Duration) {
		n := e.now.Load().Add(d)
		e.now.Store(&n)
	}
	src, tgt = e.bucket("src"), e.bucket("logs")
	e.allowLogDelivery(tgt, "log/", src)
	if err := e.putLogging(src, &types.LoggingEnabled{TargetBucket: aws.String(tgt), TargetPrefix: aws.String("log/")}); err != nil {
		t.Fatal(err)
	}
	return e, src, tgt, clock
}

func TestAccessLogDelivery(t *testing.T) {
	e, src, tgt, clock := logEnv(t)
	ctx := context.Background()
	put, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(src), Key: aws.String("dir/my key"), Body: strings.NewReader("hello")})
	if err != nil {
		t.Fatal(err)
	}
	reqID, _ := awsmw.GetRequestIDMetadata(put.ResultMetadata)
	if _, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(src), Key: aws.String("missing")}); s3Code(err) != "NoSuchKey" {
		t.Fatal(err)
	}
	clock(4 * time.Second)
	e.srv.rollLogs(false)
	if objs := e.logObjects(tgt); len(objs) != 0 {
		t.Fatalf("log delivered before the roll time: %v", objs)
	}
	clock(2 * time.Second)
	// The next request to the source bucket writes the due records before it is served.
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(src), Key: aws.String("dir/my key")}); err != nil {
		t.Fatal(err)
	}
	objs := e.logObjects(tgt)
	if len(objs) != 1 {
		t.Fatalf("%d log objects", len(objs))
	}
	keyRE := regexp.MustCompile(`^log/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$`)
	for k, body := range objs {
		if !keyRE.MatchString(k) {
			t.Errorf("log object key %q", k)
		}
		lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("records:\n%s", body)
		}
		f := splitRecord(t, lines[0])
		if len(f) != 26 {
			t.Fatalf("%d fields: %q", len(f), f)
		}
		want := map[int]string{0: testAccount(), 1: src, 4: testAccount(), 5: reqID, 6: "REST.PUT.OBJECT", 7: "dir/my%20key",
			9: "200", 10: "-", 12: "5", 19: "SigV4", 21: "AuthHeader", 23: "TLSv1.3"}
		for i, v := range want {
			if f[i] != v {
				t.Errorf("PUT record field %d = %q, want %q", i, f[i], v)
			}
		}
		g := splitRecord(t, lines[1])
		if len(g) != 26 || g[6] != "REST.GET.OBJECT" || g[9] != "404" || g[10] != "NoSuchKey" || !strings.HasPrefix(g[8], "GET /src/missing") {
			t.Errorf("GET record %q", g)
		}
	}
	// The HEAD is buffered; Close writes it.
	e.restart()
	if objs := e.logObjects(tgt); len(objs) != 2 {
		t.Fatalf("%d log objects after a restart", len(objs))
	}
}

func TestAccessLogTickAndPolicy(t *testing.T) {
	e, src, tgt, clock := logEnv(t)
	ctx := context.Background()
	if _, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(src)}); err != nil {
		t.Fatal(err)
	}
	clock(5 * time.Second)
	e.srv.rollLogs(false)
	objs := e.logObjects(tgt)
	if len(objs) != 1 {
		t.Fatalf("%d log objects after the tick", len(objs))
	}
	for _, body := range objs {
		if f := splitRecord(t, strings.TrimSpace(body)); len(f) != 26 || f[6] != "REST.GET.BUCKET" {
			t.Fatalf("record %q", f)
		}
	}
	// Once the target's policy no longer allows delivery, records are dropped.
	e.allowLogDelivery(tgt, "log/", "another")
	if _, err := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(src)}); err != nil {
		t.Fatal(err)
	}
	clock(5 * time.Second)
	e.srv.rollLogs(false)
	if objs := e.logObjects(tgt); len(objs) != 1 {
		t.Fatalf("%d log objects: delivered against the policy", len(objs))
	}
}

func TestAccessLogPartitionedEncrypted(t *testing.T) {
	e, src, tgt, clock := logEnv(t, func(c *Config) { c.AutoEncrypt = true })
	ctx := context.Background()
	if err := e.putLogging(src, &types.LoggingEnabled{TargetBucket: aws.String(tgt), TargetPrefix: aws.String("log/"),
		TargetObjectKeyFormat: &types.TargetObjectKeyFormat{PartitionedPrefix: &types.PartitionedPrefix{PartitionDateSource: types.PartitionDateSourceEventTime}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(src), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	day := e.now.Load().UTC().Format("2006/01/02")
	clock(6 * time.Second)
	e.srv.rollLogs(false)
	objs := e.logObjects(tgt)
	if len(objs) != 1 {
		t.Fatalf("%d log objects", len(objs))
	}
	for k := range objs {
		prefix := "log/" + testAccount() + "/us-east-1/" + src + "/" + day + "/"
		if !strings.HasPrefix(k, prefix) {
			t.Errorf("key %q, want prefix %q", k, prefix)
		}
		h, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(tgt), Key: aws.String(k)})
		if err != nil || h.ServerSideEncryption != types.ServerSideEncryptionAes256 {
			t.Errorf("log object encryption %q (%v)", h.ServerSideEncryption, err)
		}
	}
}

func TestAccessLogBucketDeleted(t *testing.T) {
	e, src, tgt, _ := logEnv(t)
	ctx := context.Background()
	if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(src)}); err != nil {
		t.Fatal(err)
	}
	if e.srv.alog.source(src) != nil {
		t.Fatal("deleted bucket still logged")
	}
	objs := e.logObjects(tgt)
	if len(objs) != 1 {
		t.Fatalf("%d log objects", len(objs))
	}
	for _, body := range objs {
		if f := splitRecord(t, strings.TrimSpace(body)); len(f) != 26 || f[6] != "REST.DELETE.BUCKET" || f[9] != "204" {
			t.Fatalf("record %q", f)
		}
	}
}

func TestAccessLogUnloggedBucketUntouched(t *testing.T) {
	e, _, tgt, clock := logEnv(t)
	ctx := context.Background()
	other := e.bucket("other")
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(other), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	clock(time.Minute)
	e.srv.rollLogs(true)
	if objs := e.logObjects(tgt); len(objs) != 0 {
		t.Fatalf("requests to an unlogged bucket were logged: %v", objs)
	}
}

func TestAccessLogConcurrent(t *testing.T) {
	e, src, tgt, clock := logEnv(t)
	ctx := context.Background()
	const n = 24
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(src), Key: aws.String("k" + strings.Repeat("x", i)), Body: strings.NewReader("x")})
			if err == nil && i%4 == 0 {
				e.srv.rollLogs(true)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	clock(time.Minute)
	e.srv.rollLogs(false)
	records := 0
	for _, body := range e.logObjects(tgt) {
		for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			if f := splitRecord(t, line); len(f) != 26 || f[6] != "REST.PUT.OBJECT" {
				t.Fatalf("record %q", line)
			}
			records++
		}
	}
	if records != n {
		t.Fatalf("%d records, want %d", records, n)
	}
}

func TestAccessLogCopy(t *testing.T) {
	e, src, tgt, clock := logEnv(t)
	ctx := context.Background()
	other := e.bucket("other")
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(other), Key: aws.String("a"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	// Into the logged bucket from another, and out of it.
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(src), Key: aws.String("b"), CopySource: aws.String(other + "/a")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(other), Key: aws.String("c"), CopySource: aws.String(src + "/b")}); err != nil {
		t.Fatal(err)
	}
	clock(time.Minute)
	e.srv.rollLogs(false)
	var got []string
	for _, body := range e.logObjects(tgt) {
		for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			f := splitRecord(t, line)
			if len(f) != 26 || f[1] != src {
				t.Fatalf("record %q", line)
			}
			got = append(got, f[6]+" "+f[7])
		}
	}
	if want := []string{"REST.COPY.OBJECT b", "REST.COPY.OBJECT_GET b"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("records %q, want %q", got, want)
	}
}

func TestLogSourceTake(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	src := &logSource{}
	if data, _ := src.take(at, time.Second, true); data != nil {
		t.Fatal("records from an empty buffer")
	}
	src.add([]byte("a\n"), at)
	if data, _ := src.take(at.Add(999*time.Millisecond), time.Second, false); data != nil {
		t.Fatal("records taken before the roll time")
	}
	if data, first := src.take(at.Add(time.Second), time.Second, false); string(data) != "a\n" || !first.Equal(at) {
		t.Fatalf("take: %q %v", data, first)
	}
	// A full buffer is due at once.
	src.add(make([]byte, maxLogBuffer), at)
	if data, _ := src.take(at, time.Hour, false); len(data) != maxLogBuffer {
		t.Fatalf("full buffer not due: %d bytes", len(data))
	}
}
