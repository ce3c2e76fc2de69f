package appliance

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"

	"github.com/kmsbox/kmsbox/internal/testutil"
)

// BenchmarkTransitEncryptDecrypt measures Transit encrypt+decrypt pairs per second of a
// 32-byte data key with the real Vault client over the appliance's TLS listener, at 1, 8
// and 32 concurrent callers: the Transit counterpart of kescore's BenchmarkGenerateDecrypt.
func BenchmarkTransitEncryptDecrypt(b *testing.B) {
	dir := b.TempDir()
	startAppliance(b, Config{DataDir: dir, Dev: true, VaultAddr: "127.0.0.1:0"})
	env := mustRead(b, EnvFile(dir))
	c := guideVaultAt(b, envValue(env, "VAULT_ADDR"), envValue(env, "VAULT_CACERT"), envValue(env, "VAULT_TOKEN"))
	// Keep a connection per caller, as a busy Transit client would, so that the pairs are
	// measured and not TLS handshakes (vault/api keeps GOMAXPROCS+1 idle connections).
	c.CloneConfig().HttpClient.Transport.(*http.Transport).MaxIdleConnsPerHost = 32
	mount, key := envValue(env, "VAULT_TRANSIT_MOUNT"), envValue(env, "VAULT_TRANSIT_KEY")
	dataKey := make([]byte, 32)
	rand.Read(dataKey)
	plaintext := base64.StdEncoding.EncodeToString(dataKey)
	for _, conc := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			pairs := testutil.RunConcurrent(b, conc, func() error {
				s, err := c.Logical().Write(mount+"/encrypt/"+key, map[string]any{"plaintext": plaintext})
				if err != nil {
					return fmt.Errorf("encrypt: %w", err)
				}
				got, err := transitDecrypt(c, mount, key, s.Data["ciphertext"].(string))
				if err != nil || !bytes.Equal(got, dataKey) {
					return fmt.Errorf("decrypt: %v", err)
				}
				return nil
			})
			b.ReportMetric(pairs, "pairs/s")
		})
	}
}
