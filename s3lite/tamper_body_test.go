package s3lite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// bodyFiles returns the paths of the body files of bucket/key in part order.
func bodyFiles(t *testing.T, e *env, bucket, key string) []string {
	t.Helper()
	m, err := e.srv.st.getObject(context.Background(), bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range m.Parts {
		out = append(out, filepath.Join(e.cfg.Dir, "data", filepath.FromSlash(p.File)))
	}
	return out
}

// TestTamperedBodies damages body files on disk (a flipped byte in the first and in the
// last file, the last file cut or padded by one byte, the last file replaced by the
// matching file of a twin object of the same kind) of plaintext, SSE-S3, SSE-KMS and
// SSE-C objects, single-part (600 KiB: three hash blocks) and multipart (5 MiB + 70000
// bytes). Every full GET fails, ranges over the damage fail, and no read ever returns a
// byte that differs from what was stored (a stream may break off after an intact prefix,
// never deliver altered bytes with 200). The untouched twins read back intact.
func TestTamperedBodies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("tamperbody")
	kmsCtx := b64([]byte(`{"team":"storage"}`))
	data := map[string][]byte{}
	put := func(k, sse string, mp bool) {
		if mp {
			parts := [][]byte{randBytes(5 << 20), randBytes(70000)}
			data[k] = append(append([]byte(nil), parts[0]...), parts[1]...)
			var st types.ServerSideEncryption
			switch sse {
			case "s3":
				st = types.ServerSideEncryptionAes256
			case "kms":
				st = types.ServerSideEncryptionAwsKms
			}
			awsMultipart(t, e, b, k, parts, st, sse == "c")
			return
		}
		data[k] = randBytes(600 << 10)
		in := withSSE(&s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: bytes.NewReader(data[k])}, sse, kmsCtx)
		if _, err := e.s3.PutObject(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	damages := map[string]func(t *testing.T, files, twin []string){
		"flip-first": func(t *testing.T, files, _ []string) { flipAt(t, files[0], 10) },
		"flip-last": func(t *testing.T, files, _ []string) {
			fi, _ := os.Stat(files[len(files)-1])
			flipAt(t, files[len(files)-1], fi.Size()-50)
		},
		"cut": func(t *testing.T, files, _ []string) {
			f := files[len(files)-1]
			fi, _ := os.Stat(f)
			if err := os.Truncate(f, fi.Size()-1); err != nil {
				t.Fatal(err)
			}
		},
		"pad": func(t *testing.T, files, _ []string) {
			f := files[len(files)-1]
			fi, _ := os.Stat(f)
			if err := os.Truncate(f, fi.Size()+1); err != nil {
				t.Fatal(err)
			}
		},
		"swap": func(t *testing.T, files, twin []string) {
			raw, err := os.ReadFile(twin[len(twin)-1])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(files[len(files)-1], raw, 0o600); err != nil {
				t.Fatal(err)
			}
		},
	}
	type victim struct{ key, sse, damage string }
	var victims []victim
	for _, sse := range []string{"plain", "s3", "kms", "c"} {
		for _, mp := range []bool{false, true} {
			layout := "single"
			if mp {
				layout = "mp"
			}
			twin := fmt.Sprintf("twin-%s-%s", sse, layout)
			put(twin, sse, mp)
			for d := range damages {
				k := fmt.Sprintf("%s-%s-%s", sse, layout, d)
				put(k, sse, mp)
				damages[d](t, bodyFiles(t, e, b, k), bodyFiles(t, e, b, twin))
				victims = append(victims, victim{k, sse, d})
			}
		}
	}
	read := func(k, sse, rng string) ([]byte, error) {
		in := &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)}
		if rng != "" {
			in.Range = aws.String(rng)
		}
		if sse == "c" {
			in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = ssecHeaders()
		}
		out, err := e.s3.GetObject(ctx, in)
		if err != nil {
			return nil, err
		}
		defer out.Body.Close()
		got, err := io.ReadAll(out.Body)
		return got, err
	}
	for _, v := range victims {
		t.Run(v.key, func(t *testing.T) {
			want := data[v.key]
			got, err := read(v.key, v.sse, "")
			if err == nil {
				t.Fatalf("full GET succeeded (%d bytes, intact=%v)", len(got), bytes.Equal(got, want))
			}
			if !bytes.HasPrefix(want, got) {
				t.Fatalf("full GET returned altered bytes before failing: %v", err)
			}
			if code := s3Code(err); len(got) == 0 && code != "XMinioObjectTampered" {
				t.Errorf("full GET: %v, want XMinioObjectTampered", err)
			}
			n := len(want)
			for _, r := range []struct {
				rng        string
				from, to   int
				mustRefuse bool
			}{
				{"bytes=100-199", 100, 199, v.damage == "flip-first"},
				{"bytes=-100", n - 100, n - 1, v.damage != "flip-first"},
			} {
				got, err := read(v.key, v.sse, r.rng)
				if err == nil && !bytes.Equal(got, want[r.from:r.to+1]) {
					t.Errorf("range %s: 206 with altered bytes", r.rng)
				}
				if r.mustRefuse && s3Code(err) != "XMinioObjectTampered" {
					t.Errorf("range %s over the damage: %v, want XMinioObjectTampered", r.rng, err)
				}
			}
		})
	}
	for k := range data {
		if sse := twinSSE(k); sse != "" {
			if got, err := read(k, sse, ""); err != nil || !bytes.Equal(got, data[k]) {
				t.Errorf("untouched %s: %v", k, err)
			}
		}
	}
}

// twinSSE returns the SSE kind in the name of a twin object.
func twinSSE(k string) string {
	for _, s := range []string{"plain", "s3", "kms", "c"} {
		if strings.HasPrefix(k, "twin-"+s+"-") {
			return s
		}
	}
	return ""
}

// flipAt flips one bit of the byte at off in file path.
func flipAt(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x04
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}
