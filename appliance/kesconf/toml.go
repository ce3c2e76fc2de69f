package kesconf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// tomlFile is the KES v0.5-v0.7 TOML format (MinIO's 2020 KMS guide).
type tomlFile struct {
	Address string `toml:"address"`
	Root    string `toml:"root"`
	TLS     struct {
		Key   string `toml:"key"`
		Cert  string `toml:"cert"`
		Proxy struct {
			Identities []string `toml:"identities"`
			Header     struct {
				Cert string `toml:"cert"`
			} `toml:"header"`
		} `toml:"proxy"`
	} `toml:"tls"`
	Policy map[string]struct {
		Paths      []string `toml:"paths"`
		Identities []string `toml:"identities"`
	} `toml:"policy"`
	Cache struct {
		Expiry struct {
			All    string `toml:"all"`
			Unused string `toml:"unused"`
		} `toml:"expiry"`
	} `toml:"cache"`
	Log struct {
		Error struct {
			File fileList `toml:"file"`
		} `toml:"error"`
		Audit struct {
			File fileList `toml:"file"`
		} `toml:"audit"`
	} `toml:"log"`
	KeyStore struct {
		FS *struct {
			Path string `toml:"path"`
		} `toml:"fs"`
		Vault *struct {
			Address   string `toml:"address"`
			Name      string `toml:"name"`
			Namespace string `toml:"namespace"`
			AppRole   *struct {
				ID     string `toml:"id"`
				Secret string `toml:"secret"`
				Retry  string `toml:"retry"`
			} `toml:"approle"`
			TLS struct {
				Key  string `toml:"key"`
				Cert string `toml:"cert"`
				CA   string `toml:"ca"`
			} `toml:"tls"`
			Status struct {
				Ping string `toml:"ping"`
			} `toml:"status"`
		} `toml:"vault"`
	} `toml:"keystore"`
}

// fileList accepts a single file name or a list of them.
type fileList []string

func (l *fileList) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		if v != "" {
			*l = fileList{v}
		}
		return nil
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return errors.New("file: want a string or a list of strings")
			}
			*l = append(*l, s)
		}
		return nil
	}
	return errors.New("file: want a string or a list of strings")
}

// ParseTOML parses the KES v0.5-v0.7 TOML format.
func ParseTOML(data []byte) (*File, error) {
	var t tomlFile
	md, err := toml.Decode(string(data), &t)
	if err != nil {
		return nil, fmt.Errorf("kesconf: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		var errs []error
		for _, k := range und {
			errs = append(errs, fmt.Errorf("kesconf: unknown key '%s'", k))
		}
		return nil, errors.Join(errs...)
	}

	var d durations
	f := &File{
		Format:  TOML,
		Address: t.Address,
		Admin:   t.Root,
		TLS: TLS{
			Key:             t.TLS.Key,
			Cert:            t.TLS.Cert,
			ProxyIdentities: t.TLS.Proxy.Identities,
			ProxyCertHeader: t.TLS.Proxy.Header.Cert,
		},
		Cache: Cache{
			Any:    d.parse("cache.expiry.all", t.Cache.Expiry.All),
			Unused: d.parse("cache.expiry.unused", t.Cache.Expiry.Unused),
		},
		Log: Log{ErrorFiles: t.Log.Error.File, AuditFiles: t.Log.Audit.File},
	}
	if len(t.Policy) > 0 {
		f.Policies = make(map[string]Policy, len(t.Policy))
		for name, p := range t.Policy {
			f.Policies[name] = Policy{Allow: p.Paths, Identities: p.Identities}
		}
	}
	if fs := t.KeyStore.FS; fs != nil {
		f.KeyStore.FS = &FS{Path: fs.Path}
	}
	if v := t.KeyStore.Vault; v != nil {
		f.KeyStore.Vault = &Vault{
			Endpoint:   strings.TrimSpace(v.Address),
			Engine:     "kv", // v0.7 always used the mount kv/
			Version:    "v1",
			Namespace:  v.Namespace,
			Prefix:     v.Name,
			TLS:        VaultTLS{Key: v.TLS.Key, Cert: v.TLS.Cert, CA: v.TLS.CA},
			StatusPing: d.parse("keystore.vault.status.ping", v.Status.Ping),
		}
		if a := v.AppRole; a != nil {
			f.KeyStore.Vault.AppRole = &AppRole{
				Engine: "approle",
				ID:     a.ID,
				Secret: a.Secret,
				Retry:  d.parse("keystore.vault.approle.retry", a.Retry),
			}
		}
	}
	if err := errors.Join(append(d.errs, f.check())...); err != nil {
		return nil, err
	}
	return f, nil
}
