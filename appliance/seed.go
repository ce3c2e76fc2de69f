package appliance

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/kmsbox/kmsbox/appliance/seed"
	"github.com/kmsbox/kmsbox/kescore"
)

// The seed's targets: the three servers as package seed needs them. Requests to the vault
// and the object store go through their own handlers in-process (never the network), so a
// seed is checked by the same code as a client's request.

// ApplySeed applies the configured seed (Config.Seed) to the servers now serving; without one
// it does nothing. Open applies it before any listener serves, so every readiness endpoint
// turns green only on a seeded appliance, and a reset applies it again to its fresh servers.
func (a *Appliance) ApplySeed(ctx context.Context) error {
	g := a.acquire()
	if g == nil {
		return errors.New("--seed: no servers (a reset failed, or the appliance is closed)")
	}
	defer g.inflight.done()
	return a.applySeed(ctx, a.seedTargets(g))
}

func (a *Appliance) applySeed(ctx context.Context, t seed.Targets) error {
	if a.cfg.Seed == nil {
		return nil
	}
	if err := a.cfg.Seed.Apply(ctx, t); err != nil {
		return fmt.Errorf("--seed: %w", err)
	}
	return nil
}

// seedTargets are generation g's servers as the seed reaches them: the vault with the dev
// root token, the key server (keys derived with --deterministic), the object store with the
// root credentials.
func (a *Appliance) seedTargets(g *generation) seed.Targets {
	rootToken, _ := g.vault.DevCredentials()
	access, secret := rootCredentials(g.scfg)
	return seed.Targets{
		Vault: vaultTarget{h: g.vault.Handler(), token: rootToken},
		KES:   kesTarget{kes: g.kes, det: a.det},
		S3:    s3Target{h: g.s3.Handler(), access: access, secret: secret, region: g.scfg.Region, ip: "127.0.0.1"},
	}
}

// vaultTarget is seed.VaultAPI over the vault's handler with the dev root token.
type vaultTarget struct {
	h     http.Handler
	token string
}

func (v vaultTarget) Request(ctx context.Context, method, path string, body map[string]any) (map[string]any, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequestWithContext(ctx, method, "https://127.0.0.1/v1/"+path, r)
	req.Header.Set("X-Vault-Token", v.token)
	rec := httptest.NewRecorder()
	v.h.ServeHTTP(rec, req)
	var out map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			return nil, fmt.Errorf("%s %s: %d, not JSON", method, path, rec.Code)
		}
	}
	if rec.Code == http.StatusNotFound {
		return nil, fmt.Errorf("%s %s: %w", method, path, seed.ErrNotFound)
	}
	if rec.Code >= 300 {
		msgs, _ := out["errors"].([]any)
		return nil, fmt.Errorf("%s %s: %d %v", method, path, rec.Code, msgs)
	}
	return out, nil
}

// kesTarget is seed.KESAPI over the in-process key server. In deterministic mode a random
// key is imported with material derived from the seed instead.
type kesTarget struct {
	kes *kescore.Server
	det *deriver
}

func (k kesTarget) CreateKey(ctx context.Context, name string) error {
	if k.det != nil {
		return k.ImportKey(ctx, name, k.det.bytes("kes key "+name, 32))
	}
	return kesSeedError(k.kes.CreateKey(ctx, name))
}

func (k kesTarget) ImportKey(ctx context.Context, name string, key []byte) error {
	return kesSeedError(k.kes.ImportKey(ctx, name, key))
}

func kesSeedError(err error) error {
	if errors.Is(err, kescore.ErrKeyExists) {
		return fmt.Errorf("%w: %w", seed.ErrExists, err)
	}
	return err
}

// s3Target is seed.S3API over the object store's handler, each request signed (SigV4) with
// the root credentials.
type s3Target struct {
	h                          http.Handler
	access, secret, region, ip string
}

func (s s3Target) do(ctx context.Context, method, path, query string, body []byte, hdr map[string]string) (*httptest.ResponseRecorder, error) {
	u := "https://" + s.ip + "/" + path
	if query != "" {
		u += "?" + query
	}
	req := httptest.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if body == nil {
		req = httptest.NewRequestWithContext(ctx, method, u, nil)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	req = signer.SignV4(*req, s.access, s.secret, "", s.region)
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec, nil
}

// s3Error is the error of an S3 answer: its code and message.
func s3Error(rec *httptest.ResponseRecorder) error {
	var e struct{ Code, Message string }
	xml.Unmarshal(rec.Body.Bytes(), &e)
	return fmt.Errorf("S3 %d %s: %s", rec.Code, e.Code, e.Message)
}

func (s s3Target) CreateBucket(ctx context.Context, name string) error {
	rec, err := s.do(ctx, http.MethodPut, name, "", nil, nil)
	switch {
	case err != nil:
		return err
	case rec.Code == http.StatusConflict && strings.Contains(rec.Body.String(), "BucketAlreadyOwnedByYou"):
		return seed.ErrExists
	case rec.Code != http.StatusOK:
		return s3Error(rec)
	}
	return nil
}

// sseConfig is the XML of PutBucketEncryption and GetBucketEncryption.
type sseConfig struct {
	XMLName xml.Name `xml:"ServerSideEncryptionConfiguration"`
	Rule    struct {
		Default struct {
			Algorithm string `xml:"SSEAlgorithm"`
			KeyID     string `xml:"KMSMasterKeyID,omitempty"`
		} `xml:"ApplyServerSideEncryptionByDefault"`
	} `xml:"Rule"`
}

func (s s3Target) BucketEncryption(ctx context.Context, bucket string) (algo, keyID string, err error) {
	rec, err := s.do(ctx, http.MethodGet, bucket, "encryption=", nil, nil)
	switch {
	case err != nil:
		return "", "", err
	case rec.Code == http.StatusNotFound && strings.Contains(rec.Body.String(), "ServerSideEncryptionConfigurationNotFoundError"):
		return "", "", nil
	case rec.Code != http.StatusOK:
		return "", "", s3Error(rec)
	}
	var c sseConfig
	if err := xml.Unmarshal(rec.Body.Bytes(), &c); err != nil {
		return "", "", err
	}
	switch c.Rule.Default.Algorithm {
	case "AES256":
		return "sse-s3", "", nil
	case "aws:kms":
		return "sse-kms", c.Rule.Default.KeyID, nil
	}
	return c.Rule.Default.Algorithm, c.Rule.Default.KeyID, nil
}

func (s s3Target) SetBucketEncryption(ctx context.Context, bucket, algo, keyID string) error {
	if algo == "" {
		rec, err := s.do(ctx, http.MethodDelete, bucket, "encryption=", nil, nil)
		if err == nil && rec.Code != http.StatusNoContent && rec.Code != http.StatusOK {
			err = s3Error(rec)
		}
		return err
	}
	var c sseConfig
	c.Rule.Default.Algorithm = "AES256"
	if algo == "sse-kms" {
		c.Rule.Default.Algorithm, c.Rule.Default.KeyID = "aws:kms", keyID
	}
	body, _ := xml.Marshal(c)
	sum := md5.Sum(body)
	rec, err := s.do(ctx, http.MethodPut, bucket, "encryption=", body, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])})
	if err == nil && rec.Code != http.StatusOK {
		err = s3Error(rec)
	}
	return err
}

func (s s3Target) GetObject(ctx context.Context, bucket, key string) ([]byte, error) {
	rec, err := s.do(ctx, http.MethodGet, bucket+"/"+objectPath(key), "", nil, nil)
	switch {
	case err != nil:
		return nil, err
	case rec.Code == http.StatusNotFound:
		return nil, seed.ErrNotFound
	case rec.Code != http.StatusOK:
		return nil, s3Error(rec)
	}
	return rec.Body.Bytes(), nil
}

func (s s3Target) PutObject(ctx context.Context, bucket, key string, content []byte) error {
	rec, err := s.do(ctx, http.MethodPut, bucket+"/"+objectPath(key), "", content, nil)
	if err == nil && rec.Code != http.StatusOK {
		err = s3Error(rec)
	}
	return err
}

// objectPath escapes an object key for a URL path, keeping its slashes.
func objectPath(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
