//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestAWSCLIBucketFeatures drives the bucket features infrastructure tools manage (versioning,
// tagging, bucket policy with anonymous access, lifecycle) through aws cli's s3api commands,
// v1 and v2, as a Terraform-style user would.
func TestAWSCLIBucketFeatures(t *testing.T) {
	v1, v2 := awsCLIs(t)
	needTool(t, "curl", "curl")
	srv := startServer(t, t.TempDir())
	dir := t.TempDir()
	one, two := filepath.Join(dir, "one.txt"), filepath.Join(dir, "two.txt")
	writeFile(t, one, []byte("version one\n"))
	writeFile(t, two, []byte("version two, a little longer\n"))
	t.Run("v2", func(t *testing.T) { testS3API(t, srv, v2, 2, one, two) })
	t.Run("v1", func(t *testing.T) { testS3API(t, srv, v1, 1, one, two) })
}

// s3apiRun runs one aws cli version's s3api commands against srv.
type s3apiRun struct {
	t          *testing.T
	c, noRetry cmd // noRetry: one attempt, for refusals
	bin        string
	base       []string
}

func (a s3apiRun) ok(args ...string) string {
	a.t.Helper()
	return a.c.ok(a.t, a.bin, append(append([]string(nil), a.base...), args...)...)
}

// json runs a command and decodes its JSON output into v.
func (a s3apiRun) json(v any, args ...string) {
	a.t.Helper()
	out := a.ok(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		a.t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fails runs a command that must fail and returns its stderr.
func (a s3apiRun) fails(args ...string) string {
	a.t.Helper()
	return a.noRetry.fails(a.t, a.bin, append(append(append([]string(nil), a.base...), "--cli-read-timeout", "20"), args...)...).stderr
}

func testS3API(t *testing.T, srv *proc, bin string, major int, one, two string) {
	bucket := fmt.Sprintf("e2e-s3api-v%d", major)
	work := t.TempDir()
	c := cmd{dir: work, env: srv.envFor(t, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL"},
		"AWS_DEFAULT_OUTPUT=json", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")}
	noRetry := c
	noRetry.env = append(append([]string(nil), c.env...), "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard")
	a := s3apiRun{t: t, c: c, noRetry: noRetry, bin: bin}
	if major == 2 {
		a.base = []string{"--endpoint-url", srv.urls["s3"]} // Debian's 2.9 predates AWS_ENDPOINT_URL
	}
	a.ok("s3api", "create-bucket", "--bucket", bucket)

	// Versioning: two PUTs make two versions, a DELETE a marker; each version stays readable.
	var ver struct{ Status string }
	if out := a.ok("s3api", "get-bucket-versioning", "--bucket", bucket); strings.TrimSpace(out) != "" {
		a.json(&ver, "s3api", "get-bucket-versioning", "--bucket", bucket)
		if ver.Status != "" {
			t.Errorf("a new bucket's versioning status = %q, want none", ver.Status)
		}
	}
	a.ok("s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
	a.json(&ver, "s3api", "get-bucket-versioning", "--bucket", bucket)
	if ver.Status != "Enabled" {
		t.Fatalf("versioning status after put-bucket-versioning = %q, want Enabled", ver.Status)
	}
	var put1, put2 struct{ VersionId, ETag string }
	a.json(&put1, "s3api", "put-object", "--bucket", bucket, "--key", "doc.txt", "--body", one)
	a.json(&put2, "s3api", "put-object", "--bucket", bucket, "--key", "doc.txt", "--body", two)
	if put1.VersionId == "" || put2.VersionId == "" || put1.VersionId == put2.VersionId {
		t.Fatalf("put-object version ids %q and %q: want two distinct ids", put1.VersionId, put2.VersionId)
	}
	var del struct {
		DeleteMarker bool
		VersionId    string
	}
	a.json(&del, "s3api", "delete-object", "--bucket", bucket, "--key", "doc.txt")
	if !del.DeleteMarker || del.VersionId == "" {
		t.Errorf("delete-object on a versioned bucket: DeleteMarker=%v VersionId=%q, want a delete marker", del.DeleteMarker, del.VersionId)
	}
	var versions struct {
		Versions []struct {
			Key, VersionId string
			IsLatest       bool
			Size           int64
		}
		DeleteMarkers []struct {
			Key, VersionId string
			IsLatest       bool
		}
	}
	a.json(&versions, "s3api", "list-object-versions", "--bucket", bucket)
	if len(versions.Versions) != 2 || len(versions.DeleteMarkers) != 1 || !versions.DeleteMarkers[0].IsLatest {
		t.Fatalf("list-object-versions: %+v, want 2 versions under a latest delete marker", versions)
	}
	if v := versions.Versions[0]; v.VersionId != put2.VersionId || v.Size != 29 {
		t.Errorf("list-object-versions: newest version %+v, want %s of 29 bytes first", v, put2.VersionId)
	}
	if stderr := a.fails("s3api", "head-object", "--bucket", bucket, "--key", "doc.txt"); !strings.Contains(stderr, "404") {
		t.Errorf("head-object under a delete marker: %q, want a 404", stderr)
	}
	got := filepath.Join(work, "got.txt")
	a.ok("s3api", "get-object", "--bucket", bucket, "--key", "doc.txt", "--version-id", put1.VersionId, got)
	sameFile(t, one, got)
	// Removing the marker brings version two back.
	a.ok("s3api", "delete-object", "--bucket", bucket, "--key", "doc.txt", "--version-id", del.VersionId)
	a.ok("s3api", "get-object", "--bucket", bucket, "--key", "doc.txt", got)
	sameFile(t, two, got)

	// Tagging: object and bucket.
	a.ok("s3api", "put-object-tagging", "--bucket", bucket, "--key", "doc.txt",
		"--tagging", `{"TagSet":[{"Key":"team","Value":"storage"},{"Key":"tier","Value":"gold"}]}`)
	var tags struct{ TagSet []struct{ Key, Value string } }
	a.json(&tags, "s3api", "get-object-tagging", "--bucket", bucket, "--key", "doc.txt")
	if len(tags.TagSet) != 2 {
		t.Errorf("get-object-tagging: %+v, want the 2 tags put", tags)
	}
	a.ok("s3api", "put-bucket-tagging", "--bucket", bucket, "--tagging", `{"TagSet":[{"Key":"env","Value":"ci"}]}`)
	a.json(&tags, "s3api", "get-bucket-tagging", "--bucket", bucket)
	if len(tags.TagSet) != 1 || tags.TagSet[0].Key != "env" || tags.TagSet[0].Value != "ci" {
		t.Errorf("get-bucket-tagging: %+v, want env=ci", tags)
	}
	if stderr := a.fails("s3api", "put-object-tagging", "--bucket", bucket, "--key", "doc.txt",
		"--tagging", `{"TagSet":[{"Key":"a","Value":"1"},{"Key":"a","Value":"2"}]}`); !strings.Contains(stderr, "InvalidTag") {
		t.Errorf("put-object-tagging with a repeated key: %q, want InvalidTag", stderr)
	}

	// Bucket policy: public read of public/*, nothing else for anonymous clients.
	curl := cmd{dir: work, env: baseEnv(t.TempDir())}
	anon := func(method, key string) string {
		t.Helper()
		return curl.ok(t, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", method,
			"--cacert", srv.caFile(), srv.urls["s3"]+"/"+bucket+"/"+key)
	}
	a.ok("s3api", "put-object", "--bucket", bucket, "--key", "public/one.txt", "--body", one)
	if code := anon("GET", "public/one.txt"); code != "403" {
		t.Errorf("anonymous GET without a policy: HTTP %s, want 403", code)
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/public/*"]}]}`, bucket)
	a.ok("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", policy)
	var gotPolicy struct{ Policy string }
	a.json(&gotPolicy, "s3api", "get-bucket-policy", "--bucket", bucket)
	if !strings.Contains(gotPolicy.Policy, "public/*") {
		t.Errorf("get-bucket-policy: %q", gotPolicy.Policy)
	}
	var status struct{ PolicyStatus struct{ IsPublic bool } }
	a.json(&status, "s3api", "get-bucket-policy-status", "--bucket", bucket)
	if !status.PolicyStatus.IsPublic {
		t.Errorf("get-bucket-policy-status of a public-read policy: IsPublic false")
	}
	if code := anon("GET", "public/one.txt"); code != "200" {
		t.Errorf("anonymous GET allowed by the policy: HTTP %s, want 200", code)
	}
	if code := anon("GET", "doc.txt"); code != "403" {
		t.Errorf("anonymous GET outside the policy's resource: HTTP %s, want 403", code)
	}
	if code := anon("DELETE", "public/one.txt"); code != "403" {
		t.Errorf("anonymous DELETE: HTTP %s, want 403", code)
	}
	if stderr := a.fails("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", `{"Statement":"nope"}`); !strings.Contains(stderr, "MalformedPolicy") {
		t.Errorf("put-bucket-policy with a malformed policy: %q, want MalformedPolicy", stderr)
	}
	a.ok("s3api", "delete-bucket-policy", "--bucket", bucket)
	if code := anon("GET", "public/one.txt"); code != "403" {
		t.Errorf("anonymous GET after delete-bucket-policy: HTTP %s, want 403", code)
	}

	// Lifecycle: stored and read back as put.
	a.ok("s3api", "put-bucket-lifecycle-configuration", "--bucket", bucket, "--lifecycle-configuration",
		`{"Rules":[{"ID":"expire-tmp","Status":"Enabled","Filter":{"Prefix":"tmp/"},"Expiration":{"Days":7},`+
			`"NoncurrentVersionExpiration":{"NoncurrentDays":3},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":1}}]}`)
	var lc struct {
		Rules []struct {
			ID, Status string
			Expiration struct{ Days int }
		}
	}
	a.json(&lc, "s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket)
	if len(lc.Rules) != 1 || lc.Rules[0].ID != "expire-tmp" || lc.Rules[0].Expiration.Days != 7 {
		t.Errorf("get-bucket-lifecycle-configuration: %+v", lc)
	}
	a.ok("s3api", "delete-bucket-lifecycle", "--bucket", bucket)
	if stderr := a.fails("s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket); !strings.Contains(stderr, "NoSuchLifecycleConfiguration") {
		t.Errorf("get-bucket-lifecycle-configuration after delete: %q, want NoSuchLifecycleConfiguration", stderr)
	}

	// Clean-up as boto3 users do it: delete every version and marker, then the bucket.
	a.json(&versions, "s3api", "list-object-versions", "--bucket", bucket)
	for _, v := range versions.Versions {
		a.ok("s3api", "delete-object", "--bucket", bucket, "--key", v.Key, "--version-id", v.VersionId)
	}
	for _, m := range versions.DeleteMarkers {
		a.ok("s3api", "delete-object", "--bucket", bucket, "--key", m.Key, "--version-id", m.VersionId)
	}
	a.ok("s3api", "delete-bucket", "--bucket", bucket)
}
