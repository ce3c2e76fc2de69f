//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// TestS3cmd drives s3cmd with a config of its own (path style, HTTPS, kmsbox's CA, SigV4).
func TestS3cmd(t *testing.T) {
	s3cmd := needTool(t, "s3cmd", "s3cmd")
	srv := startServer(t, t.TempDir())

	home := t.TempDir()
	cfg := filepath.Join(home, "s3cfg")
	writeFile(t, cfg, fmt.Appendf(nil, `[default]
access_key = %s
secret_key = %s
host_base = %s
host_bucket = %s
use_https = True
ca_certs_file = %s
check_ssl_certificate = True
check_ssl_hostname = True
signature_v2 = False
bucket_location = us-east-1
`, srv.env["AWS_ACCESS_KEY_ID"], srv.env["AWS_SECRET_ACCESS_KEY"], srv.addr("s3"), srv.addr("s3"), srv.caFile()))

	work := t.TempDir()
	c := cmd{dir: work, env: baseEnv(home)}
	run := func(args ...string) string {
		t.Helper()
		return c.ok(t, s3cmd, append([]string{"-c", cfg}, args...)...)
	}

	small := filepath.Join(work, "small.txt")
	writeFile(t, small, []byte(strings.Repeat("s3cmd over kmsbox\n", 50)))
	multi := filepath.Join(work, "multi.bin")
	writeRandom(t, multi, 17<<20) // s3cmd's multipart chunk is 15 MiB: 2 parts

	const bucket = "s3://e2e-s3cmd"
	if out := run("mb", bucket); !strings.Contains(out, "created") {
		t.Fatalf("s3cmd mb printed %q", out)
	}
	if out := run("ls"); !strings.Contains(out, bucket) {
		t.Fatalf("s3cmd ls does not list %s:\n%s", bucket, out)
	}
	run("put", small, bucket+"/small.txt")
	run("put", multi, bucket+"/dir/multi.bin")
	run("put", "--server-side-encryption-kms-id", "minio-key-1", small, bucket+"/kms.txt")

	listed := map[string]string{} // URI -> size, from `s3cmd ls`: date time size URI
	for _, l := range scanLines(run("ls", "--recursive", bucket)) {
		if f := strings.Fields(l); len(f) == 4 {
			listed[f[3]] = f[2]
		}
	}
	for uri, size := range map[string]int{bucket + "/small.txt": 900, bucket + "/dir/multi.bin": 17 << 20, bucket + "/kms.txt": 900} {
		if listed[uri] != fmt.Sprint(size) {
			t.Errorf("s3cmd ls --recursive: %s has size %q, want %d (listing %v)", uri, listed[uri], size, listed)
		}
	}

	run("get", bucket+"/small.txt", filepath.Join(work, "small.down"))
	sameFile(t, small, filepath.Join(work, "small.down"))
	run("get", bucket+"/dir/multi.bin", filepath.Join(work, "multi.down"))
	sameFile(t, multi, filepath.Join(work, "multi.down"))
	run("get", bucket+"/kms.txt", filepath.Join(work, "kms.down"))
	sameFile(t, small, filepath.Join(work, "kms.down"))

	info := run("info", bucket+"/small.txt")
	for _, want := range []string{"SSE:       AES256", "MD5 sum:   " + md5File(t, small), "File size: 900"} {
		if !strings.Contains(info, want) {
			t.Errorf("s3cmd info small.txt lacks %q:\n%s", want, info)
		}
	}
	if info := run("info", bucket+"/kms.txt"); !strings.Contains(info, "SSE:       aws:kms") {
		t.Errorf("s3cmd info kms.txt does not show aws:kms:\n%s", info)
	}
	if info := run("info", bucket+"/dir/multi.bin"); !strings.Contains(info, "SSE:       AES256") {
		t.Errorf("s3cmd info dir/multi.bin does not show AES256:\n%s", info)
	}

	run("del", bucket+"/small.txt")
	if out := run("ls", "--recursive", bucket); strings.Contains(out, bucket+"/small.txt") {
		t.Errorf("small.txt still listed after del:\n%s", out)
	}
	if r := c.fails(t, s3cmd, "-c", cfg, "get", bucket+"/small.txt", filepath.Join(work, "gone")); !strings.Contains(r.stderr+r.stdout, "does not exist") {
		t.Errorf("get of a deleted object: %s%s, want \"does not exist\"", r.stdout, r.stderr)
	}
	run("del", "--recursive", "--force", bucket)
	run("rb", bucket)
	if out := run("ls"); strings.Contains(out, bucket) {
		t.Errorf("bucket still listed after rb:\n%s", out)
	}
}

// TestRclone syncs a tree up and down with rclone's S3 backend (provider Minio) and checks it
// both ways, by hash and by content.
func TestRclone(t *testing.T) {
	rclone := needTool(t, "rclone", "rclone")
	srv := startServer(t, t.TempDir())

	home := t.TempDir()
	cfg := filepath.Join(home, "rclone.conf")
	writeFile(t, cfg, fmt.Appendf(nil, `[kmsbox]
type = s3
provider = Minio
access_key_id = %s
secret_access_key = %s
endpoint = %s
region = us-east-1
`, srv.env["AWS_ACCESS_KEY_ID"], srv.env["AWS_SECRET_ACCESS_KEY"], srv.urls["s3"]))

	// rclone 1.60 refuses --ca-cert when AWS_CA_BUNDLE is set too: give it neither variable.
	c := cmd{dir: home, env: baseEnv(home)}
	run := func(args ...string) string {
		t.Helper()
		return c.ok(t, rclone, append([]string{"--config", cfg, "--ca-cert", srv.caFile(),
			// Small multipart settings so the 12 MiB file goes up in 3 parts.
			"--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"}, args...)...)
	}

	src, down := filepath.Join(t.TempDir(), "src"), filepath.Join(t.TempDir(), "down")
	makeTree(t, src)
	const remote = "kmsbox:e2e-rclone/tree"

	run("mkdir", "kmsbox:e2e-rclone")
	run("sync", src, remote)
	run("sync", remote, down)
	sameTree(t, src, down)
	run("check", src, remote)
	run("check", remote, down)
	run("check", "--download", src, remote)

	// The 12 MiB file went up in 5 MiB parts with rclone's MD5 in the user metadata, and the
	// listing shows the multipart ETag of the plaintext parts.
	st, err := s3Client(t, srv, caPool(t, srv.caFile())).StatObject(context.Background(), "e2e-rclone", "tree/big/12MiB.bin", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := multipartETag(t, filepath.Join(src, "big", "12MiB.bin"), 5<<20); st.ETag != want {
		t.Errorf("rclone's multipart upload has ETag %s, want %s", st.ETag, want)
	}
	if md5sum := st.UserMetadata["Md5chksum"]; md5sum == "" {
		t.Errorf("rclone's X-Amz-Meta-Md5chksum did not round-trip: user metadata %v", st.UserMetadata)
	}
	if sse := st.Metadata.Get("X-Amz-Server-Side-Encryption"); sse != "AES256" {
		t.Errorf("rclone upload: x-amz-server-side-encryption %q, want AES256 (auto-encryption)", sse)
	}

	out := run("lsf", "--recursive", "--files-only", remote)
	if got := len(scanLines(out)); got != len(treeSizes) {
		t.Errorf("rclone lsf lists %d files, want %d:\n%s", got, len(treeSizes), out)
	}

	// A second round: change, add and delete files; sync must make the bucket follow.
	writeRandom(t, filepath.Join(src, "dare", "65536"), 70000)
	writeRandom(t, filepath.Join(src, "new", "file.bin"), 3000)
	if err := os.Remove(filepath.Join(src, "names", "with space.txt")); err != nil {
		t.Fatal(err)
	}
	run("sync", src, remote)
	run("check", src, remote)
	run("sync", remote, down)
	sameTree(t, src, down)
	run("check", "--download", remote, down)
}

// TestRestic backs a tree up into a kmsbox bucket, verifies every pack byte, restores it and
// compares byte for byte.
func TestRestic(t *testing.T) {
	restic := needTool(t, "restic", "restic")
	srv := startServer(t, t.TempDir())

	home := t.TempDir()
	c := cmd{dir: home, env: srv.envFor(t, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
		"RESTIC_PASSWORD=e2e-restic-password", "RESTIC_CACHE_DIR="+filepath.Join(home, "cache"))}
	repo := "s3:" + srv.urls["s3"] + "/e2e-restic"
	run := func(args ...string) string {
		t.Helper()
		return c.ok(t, restic, append([]string{"-r", repo, "--cacert", srv.caFile()}, args...)...)
	}

	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src)

	run("init")
	run("backup", src)
	run("check", "--read-data")

	var snaps []struct {
		ID    string   `json:"id"`
		Paths []string `json:"paths"`
	}
	if err := json.Unmarshal([]byte(run("snapshots", "--json")), &snaps); err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || len(snaps[0].Paths) != 1 || snaps[0].Paths[0] != src {
		t.Fatalf("snapshots = %+v, want one of %s", snaps, src)
	}

	target := t.TempDir()
	run("restore", "latest", "--target", target)
	sameTree(t, src, filepath.Join(target, src))

	// An incremental backup after a change, checked and restored again.
	writeRandom(t, filepath.Join(src, "dare", "65537"), 65537)
	writeRandom(t, filepath.Join(src, "added.bin"), 123456)
	run("backup", src)
	run("check", "--read-data")
	target2 := t.TempDir()
	run("restore", "latest", "--target", target2)
	sameTree(t, src, filepath.Join(target2, src))
}
