package kesclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero values of [Config].
const (
	DefaultEndpoint      = "https://127.0.0.1:7373"
	defaultRetries       = 2
	defaultMinRetryDelay = 200 * time.Millisecond
	defaultMaxRetryDelay = time.Second
	// endpointCooldown is how long a failed endpoint is tried only after
	// all healthy ones.
	endpointCooldown = 30 * time.Second
	// maxResponseBody bounds a success answer (key lists included).
	maxResponseBody = 32 << 20
)

// Config configures a [Client].
type Config struct {
	// Endpoints are the KES servers, replicas of one configuration, as
	// "https://host:port", "host:port" or "host". A missing scheme means
	// https; "http://" is rewritten to "https://" (KES is TLS only); a
	// missing port means 7373. At least one is required; see
	// [ParseEndpoints] for the comma-separated form of KES_SERVER.
	Endpoints []string

	// TLS is the client's TLS configuration, normally with the client
	// certificate that is its KES identity (see [LoadClientCert],
	// [TLSConfig]). Nil means the system roots and no client certificate,
	// which a KES server refuses at the TLS handshake. Ignored when
	// HTTPClient is set.
	TLS *tls.Config

	// HTTPClient, when not nil, sends the requests; its transport must do
	// the mutual TLS. Nil means a client built from TLS with sane timeouts.
	HTTPClient *http.Client

	// Retries is how many more rounds over all endpoints are made when every
	// endpoint failed with a network error or 503. Zero means 2; negative
	// means no retry.
	Retries int

	// MinRetryDelay and MaxRetryDelay bound the random wait before a retry
	// round. Zero means 200ms and 1s.
	MinRetryDelay, MaxRetryDelay time.Duration
}

// Validate reports every problem of the configuration.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("kesclient: no endpoint"))
	}
	for _, e := range c.Endpoints {
		if _, err := normalizeEndpoint(e); err != nil {
			errs = append(errs, err)
		}
	}
	if c.MinRetryDelay < 0 || c.MaxRetryDelay < 0 {
		errs = append(errs, errors.New("kesclient: negative retry delay"))
	}
	if c.MinRetryDelay > 0 && c.MaxRetryDelay > 0 && c.MinRetryDelay > c.MaxRetryDelay {
		errs = append(errs, fmt.Errorf("kesclient: min retry delay %v exceeds max retry delay %v", c.MinRetryDelay, c.MaxRetryDelay))
	}
	return errors.Join(errs...)
}

// ParseEndpoints splits a comma-separated endpoint list as KES_SERVER and
// MINIO_KMS_KES_ENDPOINT hold it, dropping empty entries. An empty string
// gives [DefaultEndpoint].
func ParseEndpoints(s string) []string {
	var eps []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return []string{DefaultEndpoint}
	}
	return eps
}

// normalizeEndpoint returns the endpoint as "https://host:port" without a
// trailing slash.
func normalizeEndpoint(e string) (string, error) {
	s := strings.TrimSpace(e)
	switch {
	case strings.HasPrefix(s, "https://"):
	case strings.HasPrefix(s, "http://"):
		s = "https://" + strings.TrimPrefix(s, "http://")
	case strings.Contains(s, "://"):
		return "", fmt.Errorf("kesclient: endpoint %q: only https is supported", e)
	default:
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("kesclient: endpoint %q: %v", e, err)
	}
	if u.User != nil {
		// The user info may hold a password: the error shows it redacted.
		return "", fmt.Errorf("kesclient: endpoint %q: want https://host[:port]", u.Redacted())
	}
	if u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("kesclient: endpoint %q: want https://host[:port]", e)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "7373")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// Client talks to one or more KES servers. It is safe for concurrent use.
type Client struct {
	hc       *http.Client
	retries  int
	minDelay time.Duration
	maxDelay time.Duration

	mu        sync.Mutex
	endpoints []*endpoint
	preferred int
}

type endpoint struct {
	url      string
	badUntil time.Time // guarded by Client.mu
}

// New returns a client for cfg. It does not contact the servers.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{
		hc:       cfg.HTTPClient,
		retries:  cfg.Retries,
		minDelay: cfg.MinRetryDelay,
		maxDelay: cfg.MaxRetryDelay,
	}
	for _, e := range cfg.Endpoints {
		u, _ := normalizeEndpoint(e) // validated above
		c.endpoints = append(c.endpoints, &endpoint{url: u})
	}
	switch {
	case c.retries == 0:
		c.retries = defaultRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.minDelay == 0 {
		c.minDelay = defaultMinRetryDelay
		if c.maxDelay > 0 {
			c.minDelay = min(c.minDelay, c.maxDelay)
		}
	}
	if c.maxDelay == 0 {
		c.maxDelay = max(defaultMaxRetryDelay, c.minDelay)
	}
	if c.hc == nil {
		tlsConf := cfg.TLS
		if tlsConf == nil {
			tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c.hc = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tlsConf.Clone(),
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}}
	}
	return c, nil
}

// Endpoints returns the normalized endpoint URLs, in configuration order.
func (c *Client) Endpoints() []string {
	eps := make([]string, len(c.endpoints))
	for i, e := range c.endpoints {
		eps[i] = e.url
	}
	return eps
}

// order returns the endpoints to try for one round: the preferred one
// first, then the others in ring order, those set aside last.
func (c *Client) order() []*endpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	n := len(c.endpoints)
	good := make([]*endpoint, 0, n)
	var bad []*endpoint
	for i := range n {
		e := c.endpoints[(c.preferred+i)%n]
		if now.Before(e.badUntil) {
			bad = append(bad, e)
		} else {
			good = append(good, e)
		}
	}
	return append(good, bad...)
}

func (c *Client) markGood(e *endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.badUntil = time.Time{}
	for i, x := range c.endpoints {
		if x == e {
			c.preferred = i
		}
	}
}

func (c *Client) markBad(e *endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.badUntil = time.Now().Add(endpointCooldown)
}

// request is one API call; body is resent on every attempt.
type request struct {
	method      string
	path        string // escaped path, starting with "/"
	body        []byte // nil: no body
	contentType string
}

// do sends r with failover and retries and returns the body of a 2xx
// answer (read in full, at most maxResponseBody) and its Content-Type. Error
// answers become *Error; a request that reached no endpoint *ConnError.
func (c *Client) do(ctx context.Context, r request) ([]byte, string, error) {
	var lastErr error
	for round := 0; round <= c.retries; round++ {
		if round > 0 {
			if err := c.wait(ctx); err != nil {
				return nil, "", err
			}
		}
		retry := false
		for _, e := range c.order() {
			body, ctype, status, err := c.send(ctx, e, r)
			if err != nil && status != 0 {
				return nil, "", err // an answer, but an unusable one
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil, "", ctx.Err()
				}
				c.markBad(e)
				lastErr, retry = &ConnError{Endpoint: e.url, Err: err}, true
				continue
			}
			if status >= 500 && status != http.StatusNotImplemented {
				c.markBad(e)
				lastErr = parseError(status, ctype, body)
				if status == http.StatusServiceUnavailable {
					retry = true
				}
				continue
			}
			c.markGood(e)
			if status >= 300 {
				return nil, "", parseError(status, ctype, body)
			}
			return body, ctype, nil
		}
		if !retry {
			break
		}
	}
	return nil, "", lastErr
}

// wait sleeps a random delay in [minDelay, maxDelay] or until ctx ends.
func (c *Client) wait(ctx context.Context) error {
	d := c.minDelay
	if c.maxDelay > c.minDelay {
		d += rand.N(c.maxDelay - c.minDelay)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// send makes one attempt against e. An error with status 0 means no HTTP
// answer (network or TLS failure); with a status, an unusable answer.
func (c *Client) send(ctx context.Context, e *endpoint, r request) (body []byte, ctype string, status int, err error) {
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, e.url+r.path, rd)
	if err != nil {
		return nil, "", 0, err
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", 0, err
	}
	defer resp.Body.Close()
	limit := int64(maxResponseBody)
	if resp.StatusCode >= 300 {
		limit = maxErrorBody
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", 0, err
	}
	if int64(len(body)) > limit {
		if resp.StatusCode < 300 {
			return nil, "", resp.StatusCode, fmt.Errorf("kesclient: answer of %s exceeds %d bytes", r.path, limit)
		}
		body = body[:limit]
	}
	return body, resp.Header.Get("Content-Type"), resp.StatusCode, nil
}

// call sends r and decodes a JSON answer into out (nil: answer ignored).
func (c *Client) call(ctx context.Context, r request, out any) error {
	body, _, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("kesclient: malformed answer of %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// jsonRequest builds a request with a JSON body.
func jsonRequest(method, path string, v any) (request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return request{}, err
	}
	return request{method: method, path: path, body: b, contentType: "application/json"}, nil
}

// apiPath joins an API path and one escaped argument.
func apiPath(api, arg string) string {
	return api + "/" + url.PathEscape(arg)
}
