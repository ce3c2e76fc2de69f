package s3lite_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/kmsbox/kmsbox/s3lite"
)

// Serving S3 with auto-encryption under the guide's single static key.
func Example() {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kms, err := s3lite.NewStaticKMS("my-minio-key:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "s3lite-example")
	defer os.RemoveAll(dir)
	srv, err := s3lite.Open(context.Background(), s3lite.Config{
		Dir:          dir,
		Credentials:  map[string]string{"minioadmin": "minioadmin"},
		KMS:          kms,
		DefaultKeyID: kms.KeyID(),
		AutoEncrypt:  true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	_ = hs // the caller binds the listener: hs.ServeTLS(ln, "", "")
	fmt.Println("ready")
	// Output: ready
}
