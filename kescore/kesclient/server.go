package kesclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// VersionInfo is a server's answer to /version.
type VersionInfo struct {
	Version string // release, e.g. "2025-03-12T09-35-18Z"
	Commit  string // source commit, may be empty
}

// Version returns the server's version. The endpoint needs no
// authorization, only the TLS handshake.
func (c *Client) Version(ctx context.Context) (VersionInfo, error) {
	var resp struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: pathVersion}, &resp); err != nil {
		return VersionInfo{}, err
	}
	return VersionInfo{Version: resp.Version, Commit: resp.Commit}, nil
}

// State is a server's answer to /v1/status.
type State struct {
	Version             string        // server version
	OS                  string        // server operating system (GOOS)
	Arch                string        // server architecture (GOARCH)
	Uptime              time.Duration // since the server started
	NumCPU              int           // CPUs of the server's machine
	NumCPUUsed          int           // CPUs the server may use (GOMAXPROCS)
	HeapUsed            uint64        // bytes
	StackUsed           uint64        // bytes
	KeyStoreLatency     time.Duration // of the server's last key store probe
	KeyStoreUnreachable bool          // the key store could not be reached
	KeyStoreUnavailable bool          // the key store cannot serve (unreachable, sealed, ...)
}

// Status returns the server's state. A down key store is reported in the
// State, not as an error.
func (c *Client) Status(ctx context.Context) (State, error) {
	var resp struct {
		Version             string  `json:"version"`
		OS                  string  `json:"os"`
		Arch                string  `json:"arch"`
		Uptime              float64 `json:"uptime"` // seconds
		NumCPU              int     `json:"num_cpu"`
		NumCPUUsed          int     `json:"num_cpu_used"`
		HeapUsed            uint64  `json:"mem_heap_used"`
		StackUsed           uint64  `json:"mem_stack_used"`
		KeyStoreLatency     float64 `json:"keystore_latency"` // milliseconds
		KeyStoreUnreachable bool    `json:"keystore_unreachable"`
		KeyStoreUnavailable bool    `json:"keystore_unavailable"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: pathStatus}, &resp); err != nil {
		return State{}, err
	}
	return State{
		Version:             resp.Version,
		OS:                  resp.OS,
		Arch:                resp.Arch,
		Uptime:              time.Duration(resp.Uptime * float64(time.Second)),
		NumCPU:              resp.NumCPU,
		NumCPUUsed:          resp.NumCPUUsed,
		HeapUsed:            resp.HeapUsed,
		StackUsed:           resp.StackUsed,
		KeyStoreLatency:     time.Duration(resp.KeyStoreLatency * float64(time.Millisecond)),
		KeyStoreUnreachable: resp.KeyStoreUnreachable,
		KeyStoreUnavailable: resp.KeyStoreUnavailable || resp.KeyStoreUnreachable,
	}, nil
}

// Ready returns nil when the server is ready to serve key requests, else
// its error: 504 "key store is not reachable", 502 "key store is
// unavailable", or [ErrNotAllowed] if the identity may not ask.
func (c *Client) Ready(ctx context.Context) error {
	return c.call(ctx, request{method: http.MethodGet, path: pathReady}, nil)
}

// IdentityInfo describes the client's own identity.
type IdentityInfo struct {
	Identity  string        // hex SHA-256 of the client certificate's public key
	IsAdmin   bool          // the admin identity
	Policy    string        // assigned policy, empty for the admin
	Allow     []string      // allowed path patterns of the policy, sorted
	Deny      []string      // denied path patterns of the policy, sorted
	TTL       time.Duration // lifetime of the identity; zero if unlimited
	ExpiresAt time.Time     // end of the TTL; zero if unlimited
	CreatedAt time.Time     // when the identity was assigned
	CreatedBy string        // identity that assigned it
}

// DescribeSelf returns the identity the server sees for this client and its
// policy.
func (c *Client) DescribeSelf(ctx context.Context) (*IdentityInfo, error) {
	var resp struct {
		Identity  string                     `json:"identity"`
		Admin     bool                       `json:"admin"`
		TTL       string                     `json:"ttl"`
		ExpiresAt timestamp                  `json:"expires_at"`
		CreatedAt timestamp                  `json:"created_at"`
		CreatedBy string                     `json:"created_by"`
		Policy    json.RawMessage            `json:"policy"`
		Allow     map[string]json.RawMessage `json:"allow"`
		Deny      map[string]json.RawMessage `json:"deny"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: pathSelfDescribe}, &resp); err != nil {
		return nil, err
	}
	info := &IdentityInfo{
		Identity:  resp.Identity,
		IsAdmin:   resp.Admin,
		ExpiresAt: time.Time(resp.ExpiresAt),
		CreatedAt: time.Time(resp.CreatedAt),
		CreatedBy: resp.CreatedBy,
		Allow:     sortedKeys(resp.Allow),
		Deny:      sortedKeys(resp.Deny),
	}
	if resp.TTL != "" {
		d, err := time.ParseDuration(resp.TTL)
		if err != nil {
			return nil, fmt.Errorf("kesclient: malformed ttl %q", resp.TTL)
		}
		info.TTL = d
	}
	// The client-shaped answer carries the policy name as a string; the
	// newest servers nest the policy as an object.
	if len(resp.Policy) > 0 && string(resp.Policy) != "null" {
		var name string
		if err := json.Unmarshal(resp.Policy, &name); err == nil {
			info.Policy = name
		} else {
			var p struct {
				Name  string                     `json:"name"`
				Allow map[string]json.RawMessage `json:"allow"`
				Deny  map[string]json.RawMessage `json:"deny"`
			}
			if err := json.Unmarshal(resp.Policy, &p); err != nil {
				return nil, fmt.Errorf("kesclient: malformed policy in identity description")
			}
			info.Policy = p.Name
			if info.Allow == nil {
				info.Allow = sortedKeys(p.Allow)
			}
			if info.Deny == nil {
				info.Deny = sortedKeys(p.Deny)
			}
		}
	}
	return info, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// timestamp is an RFC 3339 time that may be absent, empty or null.
type timestamp time.Time

func (t *timestamp) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil || *s == "" {
		*t = timestamp{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return err
	}
	*t = timestamp(v)
	return nil
}
