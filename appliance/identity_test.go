package appliance

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/certs"
	"github.com/kmsbox/kmsbox/kescore"
)

// TestIdentityAgrees: the identities certs prints and files (kmsbox identity, the admin and
// MinIO identities) are the ones kescore authenticates, kescore.Identity being the definition.
func TestIdentityAgrees(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"admin", "MinIO"} {
		certPEM, _, err := certs.NewIdentity(name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(certPEM)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		got, err := certs.IdentityOfPEM(certPEM)
		if want := kescore.Identity(cert); err != nil || got != want {
			t.Errorf("%s: certs says %s (%v), kescore says %s", name, got, err, want)
		}
	}
}
