package s3lite_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/kmsbox/kmsbox/s3lite"
)

// Serving S3. With a KMS in Config.KMS (kmsbox's appliance adapts its in-process KES, a
// remote KES or the guide's static key to s3lite.KMS) SSE-S3 and SSE-KMS work, and
// AutoEncrypt seals every object under DefaultKeyID; without one, they are refused.
func Example() {
	dir, _ := os.MkdirTemp("", "s3lite-example")
	defer os.RemoveAll(dir)
	srv, err := s3lite.Open(context.Background(), s3lite.Config{
		Dir:         dir,
		Credentials: map[string]string{"minioadmin": "minioadmin"},
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
