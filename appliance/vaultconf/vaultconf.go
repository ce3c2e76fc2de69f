// Package vaultconf reads a Vault server configuration file (the KMS
// guide's vault-config.json, or the same settings in HCL) into the plain
// values kmsbox needs to run its embedded Vault-compatible store.
//
// Only the settings that mean something to kmsbox are mapped; every other
// key is returned by Parse as "ignored" so the CLI can say so. Values of
// the wrong type or shape are errors naming the key. HCL v1
// (github.com/hashicorp/hcl) parses both JSON and HCL, the two syntaxes
// Vault accepts.
package vaultconf

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl"
)

// Config holds the mapped settings. Zero values mean "not set"; the
// caller applies its defaults.
type Config struct {
	// ListenAddr is listener.tcp.address, e.g. "0.0.0.0:8200".
	ListenAddr string
	// TLSCertFile and TLSKeyFile are listener.tcp.tls_cert_file and
	// tls_key_file, as written (relative paths are relative to the
	// working directory, as with Vault).
	TLSCertFile string
	TLSKeyFile  string
	// TLSMinVersion is listener.tcp.tls_min_version as a crypto/tls
	// version constant (tls.VersionTLS12...); 0 when unset.
	TLSMinVersion uint16
	// TLSDisable is listener.tcp.tls_disable.
	TLSDisable bool
	// StoragePath is storage.<type>.path (or the legacy backend.<type>.path):
	// the directory Vault keeps its data in. kmsbox puts vault.db there.
	StoragePath string
	// StorageType is the storage stanza's type ("file" or "raft").
	StorageType string
	// DefaultLeaseTTL and MaxLeaseTTL are default_lease_ttl and
	// max_lease_ttl.
	DefaultLeaseTTL time.Duration
	MaxLeaseTTL     time.Duration
	// APIAddr is api_addr, the address advertised to clients.
	APIAddr string
}

// Load reads and parses the file at path.
func Load(path string) (*Config, []string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("vaultconf: %w", err)
	}
	c, ignored, err := Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("vaultconf: %s: %w", path, err)
	}
	return c, ignored, nil
}

// Parse parses a JSON or HCL Vault configuration. It returns the mapped
// settings and the dotted names of the keys it ignores, sorted.
func Parse(data []byte) (*Config, []string, error) {
	// HCL's JSON reader tolerates some truncated documents; a JSON file
	// must be valid JSON first.
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' && !json.Valid(t) {
		var v any
		err := json.Unmarshal(t, &v)
		return nil, nil, fmt.Errorf("parse: invalid JSON: %w", err)
	}
	var root map[string]any
	if err := hcl.Decode(&root, string(data)); err != nil {
		return nil, nil, fmt.Errorf("parse: %w", err)
	}
	p := &parser{}
	c := &Config{}
	for _, key := range sortedKeys(root) {
		v := root[key]
		switch key {
		case "api_addr":
			c.APIAddr = p.str(key, v)
		case "default_lease_ttl":
			c.DefaultLeaseTTL = p.duration(key, v)
		case "max_lease_ttl":
			c.MaxLeaseTTL = p.duration(key, v)
		case "storage", "backend":
			p.storage(c, key, v)
		case "listener":
			p.listener(c, key, v)
		default:
			p.ignored = append(p.ignored, key)
		}
	}
	if c.DefaultLeaseTTL > 0 && c.MaxLeaseTTL > 0 && c.DefaultLeaseTTL > c.MaxLeaseTTL {
		p.errs = append(p.errs, errors.New("default_lease_ttl: must not exceed max_lease_ttl"))
	}
	if err := errors.Join(p.errs...); err != nil {
		return nil, nil, err
	}
	slices.Sort(p.ignored)
	return c, p.ignored, nil
}

// parser collects errors and ignored keys while walking the document.
type parser struct {
	errs    []error
	ignored []string
}

func (p *parser) fail(key, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// blocks returns the objects of a block value: HCL decodes `x { }` and
// JSON objects as a list of maps.
func (p *parser) blocks(key string, v any) []map[string]any {
	switch t := v.(type) {
	case []map[string]any:
		return t
	case map[string]any:
		return []map[string]any{t}
	case []any:
		var out []map[string]any
		for _, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				p.fail(key, "object expected")
				return nil
			}
			out = append(out, m)
		}
		return out
	}
	p.fail(key, "object expected, got %T", v)
	return nil
}

// stanza is one "<type> { ... }" entry of a block such as
// storage "file" { path = "..." }.
type stanza struct {
	typ  string
	body map[string]any
}

// typed returns the stanzas of the block key, in type order.
func (p *parser) typed(key string, v any) []stanza {
	var out []stanza
	for _, b := range p.blocks(key, v) {
		for _, typ := range sortedKeys(b) {
			for _, body := range p.blocks(key+"."+typ, b[typ]) {
				out = append(out, stanza{typ, body})
			}
		}
	}
	return out
}

func (p *parser) storage(c *Config, key string, v any) {
	stanzas := p.typed(key, v)
	for i, s := range stanzas {
		name := key + "." + s.typ
		if i > 0 || c.StorageType != "" {
			p.fail(name, "only one storage stanza is allowed")
			continue
		}
		switch s.typ {
		case "file", "raft":
		default:
			p.fail(name, "storage type %q is not supported (use file)", s.typ)
			continue
		}
		c.StorageType = s.typ
		for _, k := range sortedKeys(s.body) {
			if k == "path" {
				c.StoragePath = p.str(name+".path", s.body[k])
			} else {
				p.ignored = append(p.ignored, name+"."+k)
			}
		}
		if c.StoragePath == "" {
			p.fail(name+".path", "required")
		}
	}
}

func (p *parser) listener(c *Config, key string, v any) {
	used := false
	for _, s := range p.typed(key, v) {
		name := key + "." + s.typ
		if s.typ != "tcp" || used {
			p.ignored = append(p.ignored, name)
			continue
		}
		used = true
		for _, k := range sortedKeys(s.body) {
			val, kn := s.body[k], name+"."+k
			switch k {
			case "address":
				c.ListenAddr = p.str(kn, val)
			case "tls_cert_file":
				c.TLSCertFile = p.str(kn, val)
			case "tls_key_file":
				c.TLSKeyFile = p.str(kn, val)
			case "tls_min_version":
				c.TLSMinVersion = p.tlsVersion(kn, val)
			case "tls_disable":
				c.TLSDisable = p.boolean(kn, val)
			default:
				p.ignored = append(p.ignored, kn)
			}
		}
	}
}

func (p *parser) str(key string, v any) string {
	s, ok := v.(string)
	if !ok {
		p.fail(key, "string expected, got %T", v)
	}
	return s
}

func (p *parser) boolean(key string, v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case int:
		return t != 0
	case string:
		b, err := strconv.ParseBool(t)
		if err != nil {
			p.fail(key, "boolean expected, got %q", t)
		}
		return b
	}
	p.fail(key, "boolean expected, got %T", v)
	return false
}

// duration accepts Go durations ("168h"), whole seconds (3600, "3600")
// and days ("7d").
func (p *parser) duration(key string, v any) time.Duration {
	var secs float64
	switch t := v.(type) {
	case int:
		secs = float64(t)
	case float64:
		secs = t
	case string:
		s := strings.TrimSpace(t)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			secs = float64(n)
			break
		}
		if days, ok := strings.CutSuffix(s, "d"); ok {
			if n, err := strconv.ParseInt(days, 10, 64); err == nil {
				secs = float64(n) * 86400
				break
			}
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			p.fail(key, "invalid duration %q", t)
			return 0
		}
		secs = d.Seconds()
	default:
		p.fail(key, "duration expected, got %T", v)
		return 0
	}
	if secs < 0 || secs > math.MaxInt64/float64(time.Second) || math.IsNaN(secs) {
		p.fail(key, "duration out of range")
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

var tlsVersions = map[string]uint16{
	"tls10": tls.VersionTLS10, "tls11": tls.VersionTLS11,
	"tls12": tls.VersionTLS12, "tls13": tls.VersionTLS13,
}

func (p *parser) tlsVersion(key string, v any) uint16 {
	s := p.str(key, v)
	if s == "" {
		return 0
	}
	ver, ok := tlsVersions[strings.ToLower(s)]
	if !ok {
		p.fail(key, "unknown TLS version %q (want tls10, tls11, tls12 or tls13)", s)
	}
	return ver
}

// DBFile is the name of the store file kmsbox keeps in StoragePath.
const DBFile = "vault.db"

// DBPath returns where vault.db lives for this configuration:
// StoragePath/vault.db, or "" when no storage path is set.
func (c *Config) DBPath() string {
	if c.StoragePath == "" {
		return ""
	}
	return filepath.Join(c.StoragePath, DBFile)
}
