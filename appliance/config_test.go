package appliance

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kmsbox/kmsbox/appliance/vaultconf"
	"github.com/kmsbox/kmsbox/embeddedvault"
)

// TestApplyVaultConfig: the guide's storage path and lease TTLs override
// the store's defaults; unset values keep them, and other settings stay.
func TestApplyVaultConfig(t *testing.T) {
	t.Parallel()
	base := embeddedvault.Config{Path: "default.db", Version: "v", DefaultLeaseTTL: time.Hour}
	vc := &vaultconf.Config{StoragePath: filepath.Join("vault", "file"), DefaultLeaseTTL: 168 * time.Hour, MaxLeaseTTL: 720 * time.Hour}
	got := applyVaultConf(base, vc)
	if got.Path != filepath.Join("vault", "file", "vault.db") || got.DefaultLeaseTTL != 168*time.Hour || got.MaxLeaseTTL != 720*time.Hour || got.Version != "v" {
		t.Fatalf("applyVaultConf = %+v", got)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("applied config invalid: %v", err)
	}
	if got := applyVaultConf(base, &vaultconf.Config{}); got.Path != base.Path || got.DefaultLeaseTTL != time.Hour || got.MaxLeaseTTL != 0 {
		t.Fatalf("applyVaultConf of an empty file = %+v", got)
	}
}
