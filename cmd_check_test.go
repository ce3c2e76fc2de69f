package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/urfave/cli/v2"

	"github.com/kmsbox/kmsbox/appliance"
	"github.com/kmsbox/kmsbox/embeddedvault"
)

// TestCheckCommand: a dev store checks clean with the dev unseal file, structure-only
// without it (and says so), and a store a server holds is refused.
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := embeddedvault.Config{Path: filepath.Join(dir, "vault.db"), Dev: true,
		DevKeyFile: filepath.Join(dir, "vault-dev-INSECURE-unseal.json"), Logger: slog.New(slog.DiscardHandler)}
	srv, err := embeddedvault.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = runApp(t, "check", "--data-dir", dir)
	var ec cli.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 2 || !strings.Contains(err.Error(), "in use by a running kmsbox") {
		t.Errorf("check of a data dir in use: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	out, _, err := runApp(t, "check", "--data-dir", dir)
	if err != nil || !strings.HasSuffix(out, "ok\n") || strings.Contains(out, "note: no unseal key") {
		t.Errorf("check of a stopped dev store: %v\n%s", err, out)
	}
	out, _, err = runApp(t, "check", "--data-dir", dir, "--unseal-key", "AAAA")
	if !errors.As(err, &ec) || ec.ExitCode() != 2 {
		t.Errorf("check with a wrong key: %v\n%s", err, out)
	}
}

// TestCheckVerifiesObjects: `kmsbox check` of a stopped --dev data dir unseals the object
// store's key through the data dir's own vault and key server, so it verifies the records'
// MACs and the plain bodies' block hashes (no "not checked" note); a flipped byte in a plain
// body is then a problem and exit code 1.
func TestCheckVerifiesObjects(t *testing.T) {
	dir := t.TempDir()
	a, err := appliance.Open(context.Background(), appliance.Config{DataDir: dir, Dev: true,
		S3Addr: "127.0.0.1:0", S3: appliance.S3Config{AccessKey: "checkaccess", SecretKey: "checksecret123", NoAutoEncrypt: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	pem, err := os.ReadFile(a.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	mc, err := minio.New(a.Addr("s3"), &minio.Options{Secure: true, Region: "us-east-1",
		Creds:     credentials.NewStaticV4("checkaccess", "checksecret123", ""),
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}})
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("kmsbox check plain body "), 20000)
	if err := mc.MakeBucket(ctx, "checked", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		key string
		sse encrypt.ServerSide
	}{{"plain.txt", nil}, {"sse.txt", encrypt.NewSSE()}} {
		if _, err := mc.PutObject(ctx, "checked", o.key, bytes.NewReader(plain), int64(len(plain)),
			minio.PutObjectOptions{ServerSideEncryption: o.sse}); err != nil {
			t.Fatalf("put %s: %v", o.key, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	out, _, err := runApp(t, "check", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "2 objects") || strings.Contains(out, "not checked") {
		t.Fatalf("check of a stopped dev data dir with two objects: %v\n%s", err, out)
	}

	// The plain body is stored as it is (with its block hashes): flip one of its bytes.
	var body string
	filepath.WalkDir(filepath.Join(dir, "s3", "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, plain[:1000]) {
				body = p
			}
		}
		return nil
	})
	if body == "" {
		t.Fatal("no body file holds the plain object")
	}
	b, err := os.ReadFile(body)
	if err != nil {
		t.Fatal(err)
	}
	b[len(plain)/2] ^= 1
	if err := os.WriteFile(body, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = runApp(t, "check", "--data-dir", dir)
	var ec cli.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 1 || !strings.Contains(out, "checked/plain.txt") {
		t.Errorf("check after a flipped byte in a plain body: %v\n%s", err, out)
	}
}
