package appliance

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/kmsbox/kmsbox/kescore/kesclient"
)

// SelftestConfig is what [Selftest] checks and with which credentials: the client settings of
// the env file (`kmsbox env`). An empty address skips nothing: its checks fail, saying what is
// missing. Transit is checked only when TransitMount and TransitKey are set.
type SelftestConfig struct {
	VaultAddr, VaultToken, VaultCACert string
	TransitMount, TransitKey           string
	KESServer, KESCert, KESKey, KESCA  string
	S3Endpoint, S3CA                   string
	AccessKey, SecretKey, Region       string
}

// Check is one step of [Selftest] and its outcome (Err nil: passed).
type Check struct {
	Name string
	Err  error
}

// Selftest walks the chain against a running kmsbox as a client would: Vault's seal status
// and a KV round trip (on a mount it enables and disables again), Transit when configured, a
// KES key created, used for a data key that decrypts, and deleted (with the KES client
// identity), and an S3 upload with SSE-S3 read back, whose HEAD shows it stored encrypted
// (bucket and object removed afterwards). Every check runs; the list says which passed.
func Selftest(ctx context.Context, cfg SelftestConfig) []Check {
	suffix := strings.ToLower(randomString(rand.Reader, 8))
	var checks []Check
	add := func(name string, err error) { checks = append(checks, Check{name, err}) }

	vault, err := selftestVault(cfg)
	if err != nil {
		add("vault status", err)
		add("vault kv write/read", err)
	} else {
		add("vault status", vaultStatus(ctx, vault))
		add("vault kv write/read", vaultKVRoundTrip(ctx, vault, "kmsbox-selftest-"+suffix))
		if cfg.TransitMount != "" && cfg.TransitKey != "" {
			add("vault transit encrypt/decrypt ("+cfg.TransitKey+")", transitRoundTrip(ctx, vault, cfg.TransitMount, cfg.TransitKey))
		}
	}
	add("kes key create/generate/decrypt/delete", kesRoundTrip(ctx, cfg, "kmsbox-selftest-"+suffix))
	add("s3 put/get with SSE-S3, stored encrypted", s3RoundTrip(ctx, cfg, "kmsbox-selftest-"+suffix))
	return checks
}

func selftestVault(cfg SelftestConfig) (*vaultapi.Client, error) {
	if cfg.VaultAddr == "" || cfg.VaultToken == "" {
		return nil, errors.New("VAULT_ADDR and VAULT_TOKEN are required")
	}
	vc := vaultapi.DefaultConfig()
	vc.Address = cfg.VaultAddr
	if err := vc.ConfigureTLS(&vaultapi.TLSConfig{CACert: cfg.VaultCACert}); err != nil {
		return nil, err
	}
	c, err := vaultapi.NewClient(vc)
	if err != nil {
		return nil, err
	}
	c.SetToken(cfg.VaultToken)
	return c, nil
}

func vaultStatus(ctx context.Context, c *vaultapi.Client) error {
	st, err := c.Sys().SealStatusWithContext(ctx)
	switch {
	case err != nil:
		return err
	case !st.Initialized:
		return errors.New("the vault is not initialized")
	case st.Sealed:
		return errors.New("the vault is sealed")
	}
	return nil
}

func vaultKVRoundTrip(ctx context.Context, c *vaultapi.Client, mount string) (err error) {
	if err := c.Sys().MountWithContext(ctx, mount, &vaultapi.MountInput{Type: "kv"}); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Sys().UnmountWithContext(ctx, mount)) }()
	want := randomString(rand.Reader, 16)
	if _, err := c.Logical().WriteWithContext(ctx, mount+"/check", map[string]any{"value": want}); err != nil {
		return err
	}
	s, err := c.Logical().ReadWithContext(ctx, mount+"/check")
	if err != nil {
		return err
	}
	if s == nil || s.Data["value"] != want {
		return fmt.Errorf("read back %v, want the value written", s)
	}
	return nil
}

func transitRoundTrip(ctx context.Context, c *vaultapi.Client, mount, key string) error {
	plain := base64.StdEncoding.EncodeToString([]byte(randomString(rand.Reader, 16)))
	s, err := c.Logical().WriteWithContext(ctx, mount+"/encrypt/"+key, map[string]any{"plaintext": plain})
	if err != nil {
		return err
	}
	ct, _ := s.Data["ciphertext"].(string)
	if !strings.HasPrefix(ct, "vault:v") {
		return fmt.Errorf("encrypt gave ciphertext %q", ct)
	}
	s, err = c.Logical().WriteWithContext(ctx, mount+"/decrypt/"+key, map[string]any{"ciphertext": ct})
	if err != nil {
		return err
	}
	if got, _ := s.Data["plaintext"].(string); got != plain {
		return errors.New("decrypt did not give the plaintext back")
	}
	return nil
}

func kesRoundTrip(ctx context.Context, cfg SelftestConfig, name string) (err error) {
	if cfg.KESServer == "" || cfg.KESCert == "" {
		return errors.New("KES_SERVER, KES_CLIENT_CERT and KES_CLIENT_KEY are required")
	}
	tlsConfig, err := kesclient.TLSConfig(cfg.KESCert, cfg.KESKey, cfg.KESCA, false)
	if err != nil {
		return err
	}
	c, err := kesclient.New(kesclient.Config{Endpoints: kesclient.ParseEndpoints(cfg.KESServer), TLS: tlsConfig})
	if err != nil {
		return err
	}
	if err := c.CreateKey(ctx, name); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer func() {
		if derr := c.DeleteKey(ctx, name); derr != nil {
			err = errors.Join(err, fmt.Errorf("delete: %w", derr))
		}
	}()
	assoc := []byte("kmsbox selftest")
	plain, ciphertext, err := c.GenerateKey(ctx, name, assoc)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	got, err := c.Decrypt(ctx, name, ciphertext, assoc)
	if err != nil {
		return fmt.Errorf("decrypt: %w", err)
	}
	if !bytes.Equal(got, plain) {
		return errors.New("decrypt did not give the data key back")
	}
	return nil
}

// s3RoundTrip makes a bucket, puts an object with SSE-S3, reads it back and checks its
// encryption headers, then removes both.
func s3RoundTrip(ctx context.Context, cfg SelftestConfig, bucket string) (err error) {
	if cfg.S3Endpoint == "" || cfg.AccessKey == "" || cfg.SecretKey == "" {
		return errors.New("AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required")
	}
	client, err := trustClient(cfg.S3CA)
	if err != nil {
		return err
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	do := func(method, path string, body []byte, header http.Header, want int) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(cfg.S3Endpoint, "/")+path, bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		sum := sha256.Sum256(body)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		resp, err := client.Do(signer.SignV4(*req, cfg.AccessKey, cfg.SecretKey, "", region))
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err == nil && resp.StatusCode != want {
			err = fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
		}
		return resp, b, err
	}
	if _, _, err := do(http.MethodPut, "/"+bucket, nil, nil, http.StatusOK); err != nil {
		return err
	}
	defer func() {
		_, _, derr := do(http.MethodDelete, "/"+bucket, nil, nil, http.StatusNoContent)
		err = errors.Join(err, derr)
	}()
	object := "/" + bucket + "/check"
	want := []byte("kmsbox selftest " + randomString(rand.Reader, 16))
	sse := http.Header{"X-Amz-Server-Side-Encryption": {"AES256"}}
	if _, _, err := do(http.MethodPut, object, want, sse, http.StatusOK); err != nil {
		return err
	}
	defer func() {
		_, _, derr := do(http.MethodDelete, object, nil, nil, http.StatusNoContent)
		err = errors.Join(err, derr)
	}()
	if _, got, err := do(http.MethodGet, object, nil, nil, http.StatusOK); err != nil {
		return err
	} else if !bytes.Equal(got, want) {
		return errors.New("GET did not give the object back")
	}
	resp, _, err := do(http.MethodHead, object, nil, nil, http.StatusOK)
	if err != nil {
		return err
	}
	if got := resp.Header.Get("X-Amz-Server-Side-Encryption"); got != "AES256" {
		return fmt.Errorf("HEAD shows x-amz-server-side-encryption %q, want AES256: the object is not stored encrypted", got)
	}
	return nil
}
