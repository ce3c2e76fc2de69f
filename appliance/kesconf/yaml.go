package kesconf

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ymlFile is the current KES YAML format. Every leaf is a string so that
// ${VAR} references can stand for any value; values are parsed afterwards
// with errors naming their key.
type ymlFile struct {
	Version string `yaml:"version"`
	Address string `yaml:"address"`
	Admin   struct {
		Identity string `yaml:"identity"`
	} `yaml:"admin"`
	TLS struct {
		Key      string `yaml:"key"`
		Cert     string `yaml:"cert"`
		Password string `yaml:"password"`
		CA       string `yaml:"ca"`
		Auth     string `yaml:"auth"`
		Proxy    struct {
			Identities []string `yaml:"identities"`
			Header     struct {
				Cert string `yaml:"cert"`
			} `yaml:"header"`
		} `yaml:"proxy"`
	} `yaml:"tls"`
	Policy map[string]struct {
		Allow      []string `yaml:"allow"`
		Deny       []string `yaml:"deny"`
		Identities []string `yaml:"identities"`
	} `yaml:"policy"`
	Cache struct {
		Expiry struct {
			Any     string `yaml:"any"`
			Unused  string `yaml:"unused"`
			Offline string `yaml:"offline"`
		} `yaml:"expiry"`
	} `yaml:"cache"`
	API map[string]struct {
		SkipAuth string `yaml:"skip_auth"`
		Timeout  string `yaml:"timeout"`
	} `yaml:"api"`
	Log struct {
		Error string `yaml:"error"`
		Audit string `yaml:"audit"`
	} `yaml:"log"`
	Keys []struct {
		Name string `yaml:"name"`
	} `yaml:"keys"`
	KeyStore struct {
		FS *struct {
			Path string `yaml:"path"`
		} `yaml:"fs"`
		Vault *struct {
			Endpoint  string `yaml:"endpoint"`
			Engine    string `yaml:"engine"`
			Version   string `yaml:"version"`
			Namespace string `yaml:"namespace"`
			Prefix    string `yaml:"prefix"`
			Transit   *struct {
				Engine string `yaml:"engine"`
				Key    string `yaml:"key"`
			} `yaml:"transit"`
			AppRole *struct {
				Engine    string `yaml:"engine"`
				Namespace string `yaml:"namespace"`
				ID        string `yaml:"id"`
				Secret    string `yaml:"secret"`
				Retry     string `yaml:"retry"`
			} `yaml:"approle"`
			TLS struct {
				Key  string `yaml:"key"`
				Cert string `yaml:"cert"`
				CA   string `yaml:"ca"`
			} `yaml:"tls"`
			Status struct {
				Ping string `yaml:"ping"`
			} `yaml:"status"`
		} `yaml:"vault"`
	} `yaml:"keystore"`
}

// ParseYAML parses the current KES YAML format. A value that is exactly
// "${NAME}" is replaced by the variable NAME from lookupEnv (nil means no
// variables); a missing variable is an error.
func ParseYAML(data []byte, lookupEnv func(string) (string, bool)) (*File, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("kesconf: %w", err)
	}
	var y ymlFile
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		w := walker{lookup: lookupEnv}
		w.walk(doc.Content[0], reflect.TypeOf(y), "")
		if err := errors.Join(w.errs...); err != nil {
			return nil, err
		}
		if err := doc.Content[0].Decode(&y); err != nil {
			return nil, fmt.Errorf("kesconf: %w", err)
		}
	}
	return ymlToFile(&y)
}

func ymlToFile(y *ymlFile) (*File, error) {
	var errs []error
	var d durations
	if y.Version != "" && y.Version != "v1" {
		errs = append(errs, fmt.Errorf("kesconf: version: unsupported config version %q (want v1)", y.Version))
	}
	if y.Admin.Identity == "" {
		errs = append(errs, errors.New("kesconf: admin.identity: no admin identity (set 'disabled' to disable the admin)"))
	}
	auth := ""
	switch strings.ToLower(y.TLS.Auth) {
	case "":
	case "on":
		auth = "verify"
	case "off":
		auth = "ignore"
	default:
		errs = append(errs, fmt.Errorf("kesconf: tls.auth: invalid value %q (want on or off)", y.TLS.Auth))
	}
	for key, v := range map[string]string{"log.error": y.Log.Error, "log.audit": y.Log.Audit} {
		switch strings.ToLower(v) {
		case "", "on", "off", "debug", "info", "warn", "error":
		default:
			errs = append(errs, fmt.Errorf("kesconf: %s: invalid value %q (want on, off, DEBUG, INFO, WARN or ERROR)", key, v))
		}
	}
	f := &File{
		Format:  YAML,
		Address: y.Address,
		Admin:   y.Admin.Identity,
		TLS: TLS{
			Key: y.TLS.Key, Cert: y.TLS.Cert, Password: y.TLS.Password, CA: y.TLS.CA, Auth: auth,
			ProxyIdentities: y.TLS.Proxy.Identities, ProxyCertHeader: y.TLS.Proxy.Header.Cert,
		},
		Cache: Cache{
			Any:     d.parse("cache.expiry.any", y.Cache.Expiry.Any),
			Unused:  d.parse("cache.expiry.unused", y.Cache.Expiry.Unused),
			Offline: d.parse("cache.expiry.offline", y.Cache.Expiry.Offline),
		},
		Log: Log{Error: y.Log.Error, Audit: y.Log.Audit},
	}
	if len(y.Policy) > 0 {
		f.Policies = make(map[string]Policy, len(y.Policy))
		for name, p := range y.Policy {
			f.Policies[name] = Policy{Allow: p.Allow, Deny: p.Deny, Identities: p.Identities}
		}
	}
	if len(y.API) > 0 {
		f.API = make(map[string]API, len(y.API))
		for path, a := range y.API {
			var skip bool
			switch strings.ToLower(a.SkipAuth) {
			case "", "false", "off", "no":
			case "true", "on", "yes":
				skip = true
			default:
				errs = append(errs, fmt.Errorf("kesconf: api.%s.skip_auth: invalid value %q (want true or false)", path, a.SkipAuth))
			}
			if !strings.HasPrefix(path, "/") {
				errs = append(errs, fmt.Errorf("kesconf: api.%s: not an API path", path))
			}
			f.API[path] = API{SkipAuth: skip, Timeout: d.parse("api."+path+".timeout", a.Timeout)}
		}
	}
	seen := map[string]bool{}
	for i, k := range y.Keys {
		switch {
		case k.Name == "":
			errs = append(errs, fmt.Errorf("kesconf: keys[%d].name: empty key name", i))
		case seen[k.Name]:
			errs = append(errs, fmt.Errorf("kesconf: keys[%d].name: key '%s' is defined multiple times", i, k.Name))
		default:
			seen[k.Name] = true
			f.Keys = append(f.Keys, k.Name)
		}
	}
	if fs := y.KeyStore.FS; fs != nil {
		f.KeyStore.FS = &FS{Path: fs.Path}
	}
	if v := y.KeyStore.Vault; v != nil {
		f.KeyStore.Vault = &Vault{
			Endpoint:   v.Endpoint,
			Engine:     v.Engine,
			Version:    v.Version,
			Namespace:  v.Namespace,
			Prefix:     v.Prefix,
			TLS:        VaultTLS{Key: v.TLS.Key, Cert: v.TLS.Cert, CA: v.TLS.CA},
			StatusPing: d.parse("keystore.vault.status.ping", v.Status.Ping),
		}
		if a := v.AppRole; a != nil {
			f.KeyStore.Vault.AppRole = &AppRole{
				Engine: a.Engine, Namespace: a.Namespace, ID: a.ID, Secret: a.Secret,
				Retry: d.parse("keystore.vault.approle.retry", a.Retry),
			}
		}
		if t := v.Transit; t != nil {
			f.KeyStore.Vault.Transit = &Transit{Engine: t.Engine, Key: t.Key}
		}
	}
	errs = append(errs, d.errs...)
	errs = append(errs, f.check())
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// walker checks a YAML node tree against the struct tags of the target
// type, reporting unknown keys and misplaced lists/maps by their key path,
// and resolves ${VAR} values.
type walker struct {
	lookup  func(string) (string, bool)
	errs    []error
	aliased map[*yaml.Node]bool // anchors already walked through an alias
}

func (w *walker) fail(path, format string, args ...any) {
	w.errs = append(w.errs, fmt.Errorf("kesconf: %s: %s", path, fmt.Sprintf(format, args...)))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		// Walk each anchor once: following every alias would make an
		// alias bomb exponential (yaml.v3's Decode rejects those later).
		if w.aliased[n.Alias] {
			return
		}
		if w.aliased == nil {
			w.aliased = map[*yaml.Node]bool{}
		}
		w.aliased[n.Alias] = true
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && t.Kind() != reflect.String {
		return // "key:" with no value: leave the zero value
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.fail(orRoot(path), "want a mapping of keys")
			return
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			fields[name] = t.Field(i).Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
			if !ok {
				w.errs = append(w.errs, fmt.Errorf("kesconf: unknown key '%s' (line %d)", join(path, key), n.Content[i].Line))
				continue
			}
			w.walk(n.Content[i+1], ft, join(path, key))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.fail(orRoot(path), "want a mapping of keys")
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(path, "want a list")
			return
		}
		for i, e := range n.Content {
			w.walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.fail(path, "want a single value, found a list or mapping")
			return
		}
		if v := n.Value; strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") {
			name := strings.TrimSpace(v[2 : len(v)-1])
			val, ok := w.lookup(name)
			if !ok {
				w.fail(path, "environment variable '%s' is not set", name)
				return
			}
			n.Value = val
		}
		if n.Tag == "!!null" {
			n.Value = ""
		}
		n.Tag = "!!str"
	}
}

func orRoot(path string) string {
	if path == "" {
		return "config"
	}
	return path
}
