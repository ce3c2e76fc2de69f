//go:build e2e

package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// debianAWS is where Debian's awscli package puts aws cli v2.
const debianAWS = "/usr/bin/aws"

var (
	awsOnce        sync.Once
	awsV1, awsV2   string
	awsFindFailure string
)

// awsCLIs returns aws cli v1 (the first `aws` on PATH that is v1, from pip) and v2 (Debian's).
func awsCLIs(t testing.TB) (v1, v2 string) {
	t.Helper()
	awsOnce.Do(func() {
		version := func(bin string) string {
			out, _ := exec.Command(bin, "--version").CombinedOutput()
			return strings.TrimSpace(string(out))
		}
		if v := version(debianAWS); !strings.HasPrefix(v, "aws-cli/2.") {
			awsFindFailure = fmt.Sprintf("%s is not aws cli v2 (%q): apt-get install awscli (.ci/run installs it)", debianAWS, v)
			return
		}
		awsV2 = debianAWS
		debianReal, _ := filepath.EvalSymlinks(debianAWS)
		var seen []string
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			cand := filepath.Join(dir, "aws")
			fi, err := os.Stat(cand)
			if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
				continue
			}
			if real, _ := filepath.EvalSymlinks(cand); real == debianReal {
				continue
			}
			v := version(cand)
			seen = append(seen, cand+" ("+v+")")
			if strings.HasPrefix(v, "aws-cli/1.") {
				awsV1 = cand
				return
			}
		}
		awsFindFailure = fmt.Sprintf("no aws cli v1 on PATH besides Debian's v2 %s (other candidates: %v): "+
			"the suite drives both; install v1 with `pip install awscli` (botocore >= 1.36, new default checksums)", debianAWS, seen)
	})
	if awsFindFailure != "" {
		t.Fatal(awsFindFailure)
	}
	return awsV1, awsV2
}

// headObject is the part of `aws s3api head-object` / `put-object` output the tests read.
type headObject struct {
	ETag                 string
	ContentLength        int64
	ServerSideEncryption string
	SSEKMSKeyId          string
	SSECustomerAlgorithm string
	SSECustomerKeyMD5    string
}

func decodeHead(t testing.TB, out string) headObject {
	t.Helper()
	var h headObject
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("aws output is not JSON: %v\n%s", err, out)
	}
	return h
}

// multipartETag is the ETag S3 gives an object uploaded in parts of partSize bytes.
func multipartETag(t testing.TB, name string, partSize int64) string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sums []byte
	n := 0
	for {
		h := md5.New()
		c, err := io.CopyN(h, f, partSize)
		if c > 0 {
			sums = append(sums, h.Sum(nil)...)
			n++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	all := md5.Sum(sums)
	return fmt.Sprintf("%s-%d", hex.EncodeToString(all[:]), n)
}

// parseAWSList maps the keys of `aws s3 ls --recursive` output to their sizes.
func parseAWSList(out string) map[string]string {
	listed := map[string]string{}
	for _, l := range scanLines(out) {
		if fs := strings.Fields(l); len(fs) >= 4 {
			listed[strings.Join(fs[3:], " ")] = fs[2]
		}
	}
	return listed
}

func md5File(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// awsFiles are the local files both aws cli versions move.
type awsFiles struct {
	dir                     string
	small, big, ssec        string
	sseKey, wrongKey, empty string
}

// s3transfer's default multipart threshold and chunk size, in aws cli v1 and v2 alike.
const awsChunk = 8 << 20

func TestAWSCLI(t *testing.T) {
	v1, v2 := awsCLIs(t)
	needTool(t, "curl", "curl")
	srv := startServer(t, t.TempDir())

	dir := t.TempDir()
	f := awsFiles{
		dir:      dir,
		small:    filepath.Join(dir, "small.txt"),
		big:      filepath.Join(dir, "big.bin"),
		ssec:     filepath.Join(dir, "ssec.bin"),
		sseKey:   filepath.Join(dir, "sse-c.key"),
		wrongKey: filepath.Join(dir, "wrong.key"),
		empty:    filepath.Join(dir, "empty"),
	}
	writeFile(t, f.small, []byte(strings.Repeat("kmsbox e2e: the quick brown fox\n", 100))) // 3200 bytes
	writeRandom(t, f.big, 50<<20)                                                           // multipart: 7 parts of 8 MiB
	writeRandom(t, f.ssec, awsChunk+1<<20)                                                  // SSE-C multipart: 2 parts
	writeRandom(t, f.sseKey, 32)
	writeRandom(t, f.wrongKey, 32)
	writeFile(t, f.empty, nil)

	t.Run("v2", func(t *testing.T) { testAWS(t, srv, v2, 2, f) })
	t.Run("v1", func(t *testing.T) { testAWS(t, srv, v1, 1, f) })
}

// testAWS drives one aws cli version through the s3 and s3api commands a user runs.
func testAWS(t *testing.T, srv *proc, bin string, major int, f awsFiles) {
	bucket := fmt.Sprintf("e2e-aws-v%d", major)
	work := t.TempDir()
	c := cmd{
		dir: work,
		env: srv.envFor(t, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL"},
			"AWS_DEFAULT_OUTPUT=json", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true"),
	}
	var base []string
	if major == 2 {
		// Debian's 2.9.19 predates AWS_ENDPOINT_URL (2.13); v1 1.45 takes it from the env
		// file alone, which is what `eval "$(kmsbox env)"` users rely on.
		base = []string{"--endpoint-url", srv.urls["s3"]}
	}
	aws := func(args ...string) string { t.Helper(); return c.ok(t, bin, append(base, args...)...) }
	// Refusals are asserted on the first answer: no retries, and a server that never answers
	// fails in seconds instead of botocore's 60 s read timeout times its retries.
	refused := c
	refused.env = append(append([]string(nil), c.env...), "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard")
	awsFails := func(args ...string) result {
		t.Helper()
		return refused.fails(t, bin, append(append(base, "--cli-read-timeout", "20"), args...)...)
	}
	s3url := "s3://" + bucket

	if out := aws("s3", "mb", s3url); !strings.Contains(out, "make_bucket: "+bucket) {
		t.Fatalf("s3 mb printed %q", out)
	}
	if out := aws("s3", "ls"); !strings.Contains(out, " "+bucket+"\n") {
		t.Fatalf("s3 ls does not list bucket %s:\n%s", bucket, out)
	}

	// Uploads: a small file, 50 MiB in 7 parts, stdin of unknown length.
	aws("s3", "cp", f.small, s3url+"/small.txt")
	aws("s3", "cp", f.big, s3url+"/dir/big.bin")
	c.stdin = strings.NewReader("hello from stdin\n")
	aws("s3", "cp", "-", s3url+"/stdin.txt")
	c.stdin = nil
	aws("s3", "cp", f.empty, s3url+"/empty")

	out := aws("s3", "ls", "--recursive", s3url)
	listed := parseAWSList(out)
	for key, size := range map[string]int64{"small.txt": 3200, "dir/big.bin": 50 << 20, "stdin.txt": 17, "empty": 0} {
		if listed[key] != fmt.Sprint(size) {
			t.Errorf("s3 ls --recursive: %s has size %q, want %d\n%s", key, listed[key], size, out)
		}
	}
	if out := aws("s3", "ls", s3url+"/dir/"); !strings.Contains(out, "big.bin") || strings.Contains(out, "small.txt") {
		t.Errorf("s3 ls of prefix dir/:\n%s", out)
	}

	// Encryption as the clients read it: auto-encryption is SSE-S3, ETags stay MD5s.
	h := decodeHead(t, aws("s3api", "head-object", "--bucket", bucket, "--key", "small.txt"))
	if h.ServerSideEncryption != "AES256" {
		t.Errorf("head-object small.txt: ServerSideEncryption = %q, want AES256", h.ServerSideEncryption)
	}
	if want := `"` + md5File(t, f.small) + `"`; h.ETag != want {
		t.Errorf("head-object small.txt: ETag = %s, want the MD5 %s", h.ETag, want)
	}
	if h.ContentLength != 3200 {
		t.Errorf("head-object small.txt: ContentLength = %d, want 3200", h.ContentLength)
	}
	h = decodeHead(t, aws("s3api", "head-object", "--bucket", bucket, "--key", "dir/big.bin"))
	if h.ServerSideEncryption != "AES256" {
		t.Errorf("head-object dir/big.bin: ServerSideEncryption = %q, want AES256", h.ServerSideEncryption)
	}
	if want := `"` + multipartETag(t, f.big, awsChunk) + `"`; h.ETag != want {
		t.Errorf("head-object dir/big.bin: ETag = %s, want the multipart ETag %s", h.ETag, want)
	}
	if h.ContentLength != 50<<20 {
		t.Errorf("head-object dir/big.bin: ContentLength = %d", h.ContentLength)
	}

	// Downloads, byte for byte.
	aws("s3", "cp", s3url+"/small.txt", filepath.Join(work, "small.txt"))
	sameFile(t, f.small, filepath.Join(work, "small.txt"))
	aws("s3", "cp", s3url+"/dir/big.bin", filepath.Join(work, "big.bin"))
	sameFile(t, f.big, filepath.Join(work, "big.bin"))
	if out := aws("s3", "cp", s3url+"/stdin.txt", "-"); out != "hello from stdin\n" {
		t.Errorf("s3 cp to stdout = %q", out)
	}
	aws("s3", "cp", s3url+"/empty", filepath.Join(work, "empty"))
	sameFile(t, f.empty, filepath.Join(work, "empty"))

	big, _ := os.ReadFile(f.big)
	noPlaintextAtRest(t, srv.dataDir, map[string][]byte{
		"small.txt": []byte("kmsbox e2e: the quick brown fox\nkmsbox e2e"),
		"big.bin":   big[20<<20 : 20<<20+64],
	})

	// SSE-KMS with the dev key.
	put := decodeHead(t, aws("s3api", "put-object", "--bucket", bucket, "--key", "kms.txt", "--body", f.small,
		"--server-side-encryption", "aws:kms", "--ssekms-key-id", "minio-key-1"))
	if put.ServerSideEncryption != "aws:kms" || !strings.HasSuffix(put.SSEKMSKeyId, "minio-key-1") {
		t.Errorf("put-object aws:kms answered ServerSideEncryption=%q SSEKMSKeyId=%q", put.ServerSideEncryption, put.SSEKMSKeyId)
	}
	h = decodeHead(t, aws("s3api", "head-object", "--bucket", bucket, "--key", "kms.txt"))
	if h.ServerSideEncryption != "aws:kms" || h.SSEKMSKeyId != "minio-key-1" {
		t.Errorf("head-object kms.txt: ServerSideEncryption=%q SSEKMSKeyId=%q, want aws:kms minio-key-1", h.ServerSideEncryption, h.SSEKMSKeyId)
	}
	aws("s3api", "get-object", "--bucket", bucket, "--key", "kms.txt", filepath.Join(work, "kms.txt"))
	sameFile(t, f.small, filepath.Join(work, "kms.txt"))
	r := awsFails("s3api", "put-object", "--bucket", bucket, "--key", "nokey.txt", "--body", f.small,
		"--server-side-encryption", "aws:kms", "--ssekms-key-id", "no-such-key")
	if !strings.Contains(r.stderr, "KeyNotFound") {
		t.Errorf("put-object with an unknown KMS key: stderr %q, want kms:KeyNotFound", r.stderr)
	}

	// SSE-C: single part and multipart, the key never leaves the client.
	ssecArgs := []string{"--sse-c", "AES256", "--sse-c-key", "fileb://" + f.sseKey}
	aws(append([]string{"s3", "cp", f.small, s3url + "/ssec-small.txt"}, ssecArgs...)...)
	aws(append([]string{"s3", "cp", f.ssec, s3url + "/ssec.bin"}, ssecArgs...)...)
	for _, key := range []string{"ssec-small.txt", "ssec.bin"} {
		h = decodeHead(t, aws("s3api", "head-object", "--bucket", bucket, "--key", key,
			"--sse-customer-algorithm", "AES256", "--sse-customer-key", "fileb://"+f.sseKey))
		if h.SSECustomerAlgorithm != "AES256" || h.SSECustomerKeyMD5 == "" {
			t.Errorf("head-object %s with the SSE-C key: SSECustomerAlgorithm=%q SSECustomerKeyMD5=%q", key, h.SSECustomerAlgorithm, h.SSECustomerKeyMD5)
		}
		if r := awsFails("s3api", "head-object", "--bucket", bucket, "--key", key); !strings.Contains(r.stderr, "400") {
			t.Errorf("head-object %s without the SSE-C key: stderr %q, want a 400", key, r.stderr)
		}
		r := awsFails(append([]string{"s3", "cp", s3url + "/" + key, filepath.Join(work, "wrong-"+key)},
			"--sse-c", "AES256", "--sse-c-key", "fileb://"+f.wrongKey)...)
		if !strings.Contains(r.stderr, "403") {
			t.Errorf("s3 cp %s with a wrong SSE-C key: stderr %q, want a 403", key, r.stderr)
		}
	}
	aws(append([]string{"s3", "cp", s3url + "/ssec-small.txt", filepath.Join(work, "ssec-small.txt")}, ssecArgs...)...)
	sameFile(t, f.small, filepath.Join(work, "ssec-small.txt"))
	aws(append([]string{"s3", "cp", s3url + "/ssec.bin", filepath.Join(work, "ssec.bin")}, ssecArgs...)...)
	sameFile(t, f.ssec, filepath.Join(work, "ssec.bin"))

	// Presigned URL fetched by curl: v1 signs with SigV2 query auth, v2 with SigV4.
	presigned := strings.TrimSpace(aws("s3", "presign", s3url+"/small.txt", "--expires-in", "600"))
	u, err := url.Parse(presigned)
	if err != nil || u.Scheme != "https" {
		t.Fatalf("s3 presign printed %q", presigned)
	}
	q := u.Query()
	sigParam := "X-Amz-Signature"
	if major == 1 {
		sigParam = "Signature"
		if q.Get("AWSAccessKeyId") == "" || q.Get("Expires") == "" {
			t.Errorf("aws cli v1 presign is not SigV2 query auth: %s", presigned)
		}
	} else if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-Credential") == "" {
		t.Errorf("aws cli v2 presign is not SigV4: %s", presigned)
	}
	curl := cmd{dir: work, env: baseEnv(t.TempDir())}
	got := filepath.Join(work, "presigned.txt")
	curl.ok(t, "curl", "-sS", "--fail", "--cacert", srv.caFile(), "-o", got, presigned)
	sameFile(t, f.small, got)

	sig := q.Get(sigParam)
	if sig == "" {
		t.Fatalf("presigned URL has no %s: %s", sigParam, presigned)
	}
	// Change the first character to another value of the same alphabet (hex for SigV4,
	// base64 for SigV2): 'a' -> 'A' would be the same hex digit.
	flipped := []byte(sig)
	if flipped[0] == '0' {
		flipped[0] = '1'
	} else {
		flipped[0] = '0'
	}
	q.Set(sigParam, string(flipped))
	u.RawQuery = q.Encode()
	if out := curl.ok(t, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", srv.caFile(), u.String()); out != "403" {
		t.Errorf("presigned URL with a tampered signature: HTTP %s, want 403", out)
	}

	// A tree with awkward names and sizes through `s3 sync`, which lists with
	// encoding-type=url: a second sync must find nothing to do.
	src, down := filepath.Join(work, "tree"), filepath.Join(work, "tree-down")
	makeTree(t, src)
	// Without retries and with a short read timeout: an empty file's upload must not leave
	// its connection unusable for botocore's next upload (100 Continue for empty bodies).
	refused.ok(t, bin, append(append(base, "--cli-read-timeout", "20"), "s3", "sync", src, s3url+"/tree/")...)
	aws("s3", "sync", s3url+"/tree/", down)
	sameTree(t, src, down)
	if out := aws("s3", "sync", src, s3url+"/tree/"); strings.Contains(out, "upload:") {
		t.Errorf("a second s3 sync uploaded again (listing does not match the keys):\n%s", out)
	}
	if out := aws("s3", "sync", s3url+"/tree/", down); strings.Contains(out, "download:") {
		t.Errorf("a second s3 sync down downloaded again:\n%s", out)
	}

	// Removal.
	aws("s3", "rm", s3url+"/small.txt")
	if out := aws("s3", "ls", "--recursive", s3url); parseAWSList(out)["small.txt"] != "" || parseAWSList(out)["kms.txt"] == "" {
		t.Errorf("after s3 rm of small.txt, the listing is wrong:\n%s", out)
	}
	if r := awsFails("s3api", "head-object", "--bucket", bucket, "--key", "small.txt"); !strings.Contains(r.stderr, "404") {
		t.Errorf("head-object of a removed key: %q, want a 404", r.stderr)
	}
	if r := awsFails("s3", "rb", s3url); !strings.Contains(r.stderr, "BucketNotEmpty") {
		t.Errorf("s3 rb of a non-empty bucket: %q, want BucketNotEmpty", r.stderr)
	}
	aws("s3", "rm", "--recursive", s3url)
	if out := aws("s3", "rb", s3url); !strings.Contains(out, "remove_bucket: "+bucket) {
		t.Errorf("s3 rb printed %q", out)
	}
	if out := aws("s3", "ls"); strings.Contains(out, " "+bucket+"\n") {
		t.Errorf("bucket %s still listed after s3 rb:\n%s", bucket, out)
	}
}
