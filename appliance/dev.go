package appliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kmsbox/kmsbox/embeddedvault"
	"github.com/kmsbox/kmsbox/internal/atomicfile"
)

// Names of the files that --dev writes on purpose. Everything else kmsbox keeps on disk is
// either public (certificates) or encrypted.
const (
	envFileName        = "kmsbox.env"
	devVaultKeyFile    = "vault-dev-INSECURE-unseal.json"
	devCredentialsFile = "s3-dev-INSECURE-credentials.json"
	defaultKeyName     = "minio-key-1"
	minioIdentityName  = "minio"
	adminIdentityName  = "admin"
	kesDefaultMount    = "kes"
	devPolicyName      = "minio"
	// --dev enables Vault's Transit engine at transit/ and creates this key in it, for
	// Transit clients (SeaweedFS, sops, ...) as minio-key-1 is for MinIO.
	devTransitMount = "transit"
	devTransitKey   = "transit-key-1"
)

// ensureDevTransit enables the Transit engine at transit/ and creates its dev key, each
// unless it is there already; it runs on every unseal of a --dev vault, as kes/ is enabled.
func ensureDevTransit(ctx context.Context, v *embeddedvault.Server) error {
	if err := v.EnsureMount(ctx, devTransitMount, "transit", nil); err != nil {
		return fmt.Errorf("transit mount: %w", err)
	}
	if _, err := v.EnsureTransitKey(ctx, devTransitMount, devTransitKey, ""); err != nil {
		return fmt.Errorf("transit key %s: %w", devTransitKey, err)
	}
	return nil
}

// EnvFile is the path of the env file that `kmsbox server --dev` writes in dataDir.
func EnvFile(dataDir string) string { return filepath.Join(dataDir, envFileName) }

// VaultFile is the path of the vault's bbolt file in dataDir.
func VaultFile(dataDir string) string { return filepath.Join(dataDir, "vault.db") }

// DevUnsealFile is the path of the dev vault's (insecure by design) unseal key file in dataDir.
func DevUnsealFile(dataDir string) string { return filepath.Join(dataDir, devVaultKeyFile) }

// S3Dir is the object store's directory (s3lite.Config.Dir) in dataDir.
func S3Dir(dataDir string) string { return filepath.Join(dataDir, "s3") }

// devCredentials are the S3 credentials --dev picks once and reuses on every restart.
type devCredentials struct {
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// loadDevCredentials returns the dev S3 credentials kept in the data dir, making them on
// first use.
func loadDevCredentials(dataDir string, random io.Reader) (devCredentials, error) {
	name := filepath.Join(dataDir, devCredentialsFile)
	var c devCredentials
	b, err := os.ReadFile(name)
	if err == nil {
		if err := json.Unmarshal(b, &c); err != nil || c.AccessKey == "" || c.SecretKey == "" {
			return c, fmt.Errorf("%s is damaged; delete it to pick new dev credentials", name)
		}
		return c, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return c, err
	}
	c = devCredentials{AccessKey: "kmsbox" + randomString(random, 14), SecretKey: randomString(random, 40)}
	b, _ = json.MarshalIndent(c, "", "  ")
	return c, atomicfile.WriteFile(name, b, 0o600)
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters of [A-Za-z0-9], uniformly chosen from random's bytes.
func randomString(random io.Reader, n int) string {
	b := make([]byte, n)
	var c [1]byte
	limit := 256 - 256%len(alphabet) // reject the biased tail
	for i := 0; i < n; {
		if _, err := io.ReadFull(random, c[:]); err != nil {
			panic(err) // crypto/rand and HKDF streams never fail
		}
		if int(c[0]) < limit {
			b[i] = alphabet[int(c[0])%len(alphabet)]
			i++
		}
	}
	return string(b)
}

// envVar is one `export NAME='value'` line of the env file.
type envVar struct{ name, value string }

// writeEnvFile writes the shell exports a client needs, mode 0600 (it holds a root token and
// S3 secret). Values are single-quoted for POSIX shells.
func writeEnvFile(name string, vars []envVar) error {
	var b bytes.Buffer
	b.WriteString("# Written by `kmsbox server --dev`: development credentials, do not use in production.\n")
	b.WriteString("# Load with: eval \"$(kmsbox env)\"  or  . " + shellQuote(name) + "\n")
	for _, v := range vars {
		if v.value == "" {
			continue
		}
		fmt.Fprintf(&b, "export %s=%s\n", v.name, shellQuote(v.value))
	}
	return atomicfile.WriteFile(name, b.Bytes(), 0o600)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
