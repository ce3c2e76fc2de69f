package kesclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// API paths used by this client.
const (
	pathVersion      = "/version"
	pathStatus       = "/v1/status"
	pathReady        = "/v1/ready"
	pathKeyCreate    = "/v1/key/create"
	pathKeyImport    = "/v1/key/import"
	pathKeyDescribe  = "/v1/key/describe"
	pathKeyList      = "/v1/key/list"
	pathKeyDelete    = "/v1/key/delete"
	pathKeyGenerate  = "/v1/key/generate"
	pathKeyEncrypt   = "/v1/key/encrypt"
	pathKeyDecrypt   = "/v1/key/decrypt"
	pathKeyHMAC      = "/v1/key/hmac"
	pathSelfDescribe = "/v1/identity/self/describe"
)

// Cipher names accepted by [Client.ImportKey].
const (
	AES256            = "AES256"
	AES256GCMSHA256   = "AES256-GCM_SHA256"
	ChaCha20          = "ChaCha20"
	XChaCha20Poly1305 = "XCHACHA20-POLY1305"
)

// KeyInfo describes a master key.
type KeyInfo struct {
	Name      string    // key name
	Algorithm string    // "AES256" or "ChaCha20"
	CreatedAt time.Time // zero if the server did not say
	CreatedBy string    // identity of the creator, may be empty
}

// CreateKey creates a new random master key. It fails with [ErrKeyExists]
// if the key exists.
func (c *Client) CreateKey(ctx context.Context, name string) error {
	// POST: accepted by current servers (registered as PUT, POST tolerated)
	// and by v0.7 servers, which only knew POST.
	return c.call(ctx, request{method: http.MethodPost, path: apiPath(pathKeyCreate, name)}, nil)
}

// ImportKey imports key (32 bytes) as master key name for cipher, one of
// [AES256], [AES256GCMSHA256], [ChaCha20], [XChaCha20Poly1305]. It fails
// with [ErrKeyExists] if the key exists.
func (c *Client) ImportKey(ctx context.Context, name string, key []byte, cipher string) error {
	r, err := jsonRequest(http.MethodPost, apiPath(pathKeyImport, name), struct {
		Key    []byte `json:"key"`
		Cipher string `json:"cipher"`
	}{key, cipher})
	if err != nil {
		return err
	}
	return c.call(ctx, r, nil)
}

// DescribeKey returns information about a key, or [ErrKeyNotFound].
func (c *Client) DescribeKey(ctx context.Context, name string) (*KeyInfo, error) {
	var resp struct {
		Name      string    `json:"name"`
		ID        string    `json:"id"`
		Algorithm string    `json:"algorithm"`
		CreatedAt timestamp `json:"created_at"`
		CreatedBy string    `json:"created_by"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: apiPath(pathKeyDescribe, name)}, &resp); err != nil {
		return nil, err
	}
	info := &KeyInfo{Name: resp.Name, Algorithm: resp.Algorithm, CreatedAt: time.Time(resp.CreatedAt), CreatedBy: resp.CreatedBy}
	if info.Name == "" {
		info.Name = resp.ID
	}
	return info, nil
}

// DeleteKey deletes a key. Deleting a key that does not exist succeeds on
// current servers.
func (c *Client) DeleteKey(ctx context.Context, name string) error {
	return c.call(ctx, request{method: http.MethodDelete, path: apiPath(pathKeyDelete, name)}, nil)
}

// maxListPages bounds the pages ListKeys follows, against a server whose
// continuation never ends.
const maxListPages = 1 << 12

// ListKeys returns the sorted names of all keys starting with prefix (empty:
// all keys; a trailing "*" is accepted and means the same). It follows the
// server's continue_at paging and reads the NDJSON listing of old servers.
//
// The server is asked for the prefix without its trailing "*" and "-"s
// (empty: "*"): KES lists by name prefix, refuses a pattern ending in "-"
// (400, as for a key name) and v0.24 takes a "*" after a name literally.
// The names are filtered by the whole prefix here.
//
// Paging: as the reference client does, the next page is requested with the
// continue_at name in place of the pattern; names not starting with prefix
// and names already seen are dropped, and paging stops when a page brings
// nothing new.
func (c *Client) ListKeys(ctx context.Context, prefix string) ([]string, error) {
	filter := strings.TrimSuffix(prefix, "*")
	pattern := strings.TrimRight(filter, "-")
	if pattern == "" {
		pattern = "*"
	}
	seen := map[string]bool{}
	var names []string
	for range maxListPages {
		body, ctype, err := c.do(ctx, request{method: http.MethodGet, path: apiPath(pathKeyList, pattern)})
		if err != nil {
			return nil, err
		}
		page, next, err := parseKeyList(ctype, body)
		if err != nil {
			return nil, err
		}
		fresh := 0
		for _, n := range page {
			if strings.HasPrefix(n, filter) && !seen[n] {
				seen[n] = true
				names = append(names, n)
				fresh++
			}
		}
		if next == "" || fresh == 0 || next == pattern {
			break
		}
		pattern = next
	}
	slices.Sort(names)
	return names, nil
}

// parseKeyList decodes a list answer: JSON {"names","continue_at"} or the
// legacy NDJSON stream of {"name"} / {"error"} lines.
func parseKeyList(ctype string, body []byte) (names []string, next string, err error) {
	if strings.HasPrefix(strings.TrimSpace(ctype), "application/x-ndjson") {
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 0, 64<<10), maxResponseBody)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			var l struct {
				Name  string `json:"name"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal(line, &l); err != nil {
				return nil, "", errors.New("kesclient: malformed key listing")
			}
			if l.Error != "" {
				return nil, "", errors.New("kesclient: listing failed: " + l.Error)
			}
			names = append(names, l.Name)
		}
		if err := sc.Err(); err != nil {
			return nil, "", err
		}
		return names, "", nil
	}
	var resp struct {
		Names      []string `json:"names"`
		ContinueAt string   `json:"continue_at"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, "", errors.New("kesclient: malformed key listing")
	}
	return resp.Names, resp.ContinueAt, nil
}

// GenerateKey returns a fresh 256-bit data key, in plaintext and encrypted
// under master key name. context, if not empty, is bound to the ciphertext
// and must be given again to decrypt it.
func (c *Client) GenerateKey(ctx context.Context, name string, context []byte) (plaintext, ciphertext []byte, err error) {
	r, err := jsonRequest(http.MethodPost, apiPath(pathKeyGenerate, name), struct {
		Context []byte `json:"context,omitempty"`
	}{context})
	if err != nil {
		return nil, nil, err
	}
	var resp struct {
		Plaintext  []byte `json:"plaintext"`
		Ciphertext []byte `json:"ciphertext"`
	}
	if err := c.call(ctx, r, &resp); err != nil {
		return nil, nil, err
	}
	return resp.Plaintext, resp.Ciphertext, nil
}

// Encrypt encrypts plaintext under master key name, binding context.
func (c *Client) Encrypt(ctx context.Context, name string, plaintext, context []byte) ([]byte, error) {
	r, err := jsonRequest(http.MethodPost, apiPath(pathKeyEncrypt, name), struct {
		Plaintext []byte `json:"plaintext"`
		Context   []byte `json:"context,omitempty"`
	}{plaintext, context})
	if err != nil {
		return nil, err
	}
	var resp struct {
		Ciphertext []byte `json:"ciphertext"`
	}
	if err := c.call(ctx, r, &resp); err != nil {
		return nil, err
	}
	return resp.Ciphertext, nil
}

// Decrypt decrypts ciphertext with master key name and context. A wrong
// key, wrong context or altered ciphertext fails with [ErrDecrypt].
func (c *Client) Decrypt(ctx context.Context, name string, ciphertext, context []byte) ([]byte, error) {
	r, err := jsonRequest(http.MethodPost, apiPath(pathKeyDecrypt, name), struct {
		Ciphertext []byte `json:"ciphertext"`
		Context    []byte `json:"context,omitempty"`
	}{ciphertext, context})
	if err != nil {
		return nil, err
	}
	var resp struct {
		Plaintext []byte `json:"plaintext"`
	}
	if err := c.call(ctx, r, &resp); err != nil {
		return nil, err
	}
	return resp.Plaintext, nil
}

// HMAC returns HMAC-SHA256 of message under the HMAC key of master key name.
func (c *Client) HMAC(ctx context.Context, name string, message []byte) ([]byte, error) {
	r, err := jsonRequest(http.MethodPut, apiPath(pathKeyHMAC, name), struct {
		Message []byte `json:"message"`
	}{message})
	if err != nil {
		return nil, err
	}
	var resp struct {
		HMAC []byte `json:"hmac"`
	}
	if err := c.call(ctx, r, &resp); err != nil {
		return nil, err
	}
	return resp.HMAC, nil
}
