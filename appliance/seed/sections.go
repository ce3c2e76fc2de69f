package seed

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The sections of a seed file: each walks its part of the YAML tree into p.s and checks it.

func (p *parser) vault(n *yaml.Node, at0 string) {
	v := &p.s.Vault
	mounts, secrets, policies, roles, tokens := unique{what: "mount"}, unique{what: "secret"},
		unique{what: "policy"}, unique{what: "approle"}, unique{what: "token"}
	p.mapping(n, at0, fields{
		"mounts": func(n *yaml.Node, at0 string) {
			p.list(n, at0, func(n *yaml.Node, path string) {
				m := Mount{at: at(n)}
				p.mapping(n, path, fields{
					"path": func(n *yaml.Node, path string) { m.Path = strings.Trim(p.str(n, path), "/") },
					"type": func(n *yaml.Node, path string) {
						switch m.Type = p.str(n, path); m.Type {
						case "kv", "kv-v2", "transit", "":
						default:
							p.errorf(n, path, "unknown engine %q (want kv, kv-v2 or transit)", m.Type)
						}
					},
					"keys": func(n *yaml.Node, path string) { m.Keys = p.strs(n, path) },
				})
				p.required(n, path, "path", m.Path)
				p.required(n, path, "type", m.Type)
				if m.Path != "" && !validMountPath(m.Path) {
					p.errorf(keyNode(n, "path"), path+".path", "bad mount path %q (want letters, digits, -, _, . and /, not under sys/, auth/, cubbyhole/ or identity/)", m.Path)
				}
				p.unique(&mounts, keyNode(n, "path"), path+".path", m.Path)
				if len(m.Keys) > 0 && m.Type != "transit" {
					p.errorf(keyNode(n, "keys"), path+".keys", "keys need a transit mount")
				}
				for i, k := range m.Keys {
					if k != "" && !validName(k) {
						p.errorf(keyNode(n, "keys"), path+".keys["+strconv.Itoa(i)+"]", "bad key name %q", k)
					}
				}
				v.Mounts = append(v.Mounts, m)
			})
		},
		"secrets": func(n *yaml.Node, at0 string) {
			p.list(n, at0, func(n *yaml.Node, path string) {
				s := Secret{at: at(n)}
				hasData := false
				p.mapping(n, path, fields{
					"path": func(n *yaml.Node, path string) {
						if s.Path = strings.Trim(p.str(n, path), "/"); s.Path != "" && !strings.Contains(s.Path, "/") {
							p.errorf(n, path, "want <mount>/<key>, got %q", s.Path)
						}
					},
					"data": func(n *yaml.Node, path string) {
						hasData = true
						switch {
						case n.Kind != yaml.MappingNode:
							p.errorf(n, path, "want a mapping of at least one field, got %s", kindName(n))
						case len(n.Content) == 0:
							p.errorf(n, path, "want at least one field")
						default:
							if err := n.Decode(&s.Data); err != nil {
								p.errorf(n, path, "%v", err)
							}
						}
					},
				})
				p.required(n, path, "path", s.Path)
				if !hasData {
					p.required(n, path, "data", "")
				}
				p.unique(&secrets, keyNode(n, "path"), path+".path", s.Path)
				v.Secrets = append(v.Secrets, s)
			})
		},
		"policies": func(n *yaml.Node, at0 string) {
			p.list(n, at0, func(n *yaml.Node, path string) {
				pol := Policy{at: at(n)}
				var file string
				p.mapping(n, path, fields{
					"name":   func(n *yaml.Node, path string) { pol.Name = p.str(n, path) },
					"policy": func(n *yaml.Node, path string) { pol.Policy = p.str(n, path) },
					"file":   func(n *yaml.Node, path string) { file = p.str(n, path) },
				})
				p.required(n, path, "name", pol.Name)
				if pol.Name == "root" {
					p.errorf(keyNode(n, "name"), path+".name", "the root policy cannot be changed")
				}
				p.unique(&policies, keyNode(n, "name"), path+".name", pol.Name)
				where, key := p.oneOf(n, path, "policy", pol.Policy != "", "file", file != "")
				if file != "" {
					pol.Policy = string(p.readFile(where, path+".file", file))
				}
				if pol.Policy != "" && p.opt.VaultPolicy != nil {
					if err := p.opt.VaultPolicy(pol.Policy); err != nil {
						p.errorf(where, path+"."+key, "%v", err)
					}
				}
				v.Policies = append(v.Policies, pol)
			})
		},
		"approles": func(n *yaml.Node, at0 string) {
			p.list(n, at0, func(n *yaml.Node, path string) {
				r := AppRole{at: at(n)}
				p.mapping(n, path, fields{
					"name":      func(n *yaml.Node, path string) { r.Name = p.str(n, path) },
					"policies":  func(n *yaml.Node, path string) { r.Policies = p.strs(n, path) },
					"role_id":   func(n *yaml.Node, path string) { r.RoleID = p.str(n, path) },
					"secret_id": func(n *yaml.Node, path string) { r.SecretID = p.str(n, path) },
				})
				p.itemName(n, path, "name", r.Name, &roles, true)
				v.AppRoles = append(v.AppRoles, r)
			})
		},
		"tokens": func(n *yaml.Node, at0 string) {
			p.list(n, at0, func(n *yaml.Node, path string) {
				t := Token{at: at(n)}
				p.mapping(n, path, fields{
					"id":       func(n *yaml.Node, path string) { t.ID = p.str(n, path) },
					"policies": func(n *yaml.Node, path string) { t.Policies = p.strs(n, path) },
					"ttl": func(n *yaml.Node, path string) {
						if t.TTL = p.str(n, path); t.TTL != "" && !validTTL(t.TTL) {
							p.errorf(n, path, "bad duration %q (want e.g. 768h or 3600)", t.TTL)
						}
					},
				})
				p.itemName(n, path, "id", t.ID, &tokens, false)
				v.Tokens = append(v.Tokens, t)
			})
		},
	})
}

func (p *parser) kes(n *yaml.Node, at0 string) {
	k := &p.s.KES
	keys, ids, policies := unique{what: "key"}, unique{what: "identity"}, unique{what: "policy"}
	p.mapping(n, at0, fields{
		"keys": func(n *yaml.Node, at0 string) {
			p.list(n, at0, func(n *yaml.Node, path string) {
				key := Key{at: at(n)}
				var hexText, b64Text string
				p.mapping(n, path, fields{
					"name":   func(n *yaml.Node, path string) { key.Name = p.str(n, path) },
					"hex":    func(n *yaml.Node, path string) { hexText = p.str(n, path) },
					"base64": func(n *yaml.Node, path string) { b64Text = p.str(n, path) },
				})
				p.itemName(n, path, "name", key.Name, &keys, true)
				var err error
				switch {
				case hexText != "" && b64Text != "":
					p.errorf(n, path, "hex and base64 are mutually exclusive")
				case hexText != "":
					if key.Material, err = hex.DecodeString(hexText); err != nil {
						p.errorf(keyNode(n, "hex"), path+".hex", "not hexadecimal: %v", err)
					}
				case b64Text != "":
					if key.Material, err = base64.StdEncoding.DecodeString(b64Text); err != nil {
						p.errorf(keyNode(n, "base64"), path+".base64", "not base64: %v", err)
					}
				}
				if err == nil && key.Material != nil && len(key.Material) != 32 {
					p.errorf(n, path, "key material is %d bytes, want 32 (256 bits)", len(key.Material))
				}
				k.Keys = append(k.Keys, key)
			})
		},
		"identities": func(n *yaml.Node, at0 string) {
			p.list(n, at0, func(n *yaml.Node, path string) {
				id := Identity{at: at(n)}
				p.mapping(n, path, fields{
					"name": func(n *yaml.Node, path string) { id.Name = p.str(n, path) },
					"cert": func(n *yaml.Node, path string) { id.Cert = p.str(n, path) },
				})
				p.itemName(n, path, "name", id.Name, &ids, true)
				if id.Cert != "" {
					if b := p.readFile(keyNode(n, "cert"), path+".cert", id.Cert); b != nil && !isCertificate(b) {
						p.errorf(keyNode(n, "cert"), path+".cert", "file %q holds no PEM certificate", id.Cert)
					}
					if !filepath.IsAbs(id.Cert) && p.opt.Dir != "" {
						id.Cert = filepath.Join(p.opt.Dir, id.Cert)
					}
				}
				k.Identities = append(k.Identities, id)
			})
		},
		"policies": func(n *yaml.Node, at0 string) {
			p.list(n, at0, func(n *yaml.Node, path string) {
				pol := KESPolicy{at: at(n)}
				p.mapping(n, path, fields{
					"name":       func(n *yaml.Node, path string) { pol.Name = p.str(n, path) },
					"allow":      func(n *yaml.Node, path string) { pol.Allow = p.patterns(n, path) },
					"deny":       func(n *yaml.Node, path string) { pol.Deny = p.patterns(n, path) },
					"identities": func(n *yaml.Node, path string) { pol.Identities = p.strs(n, path) },
				})
				p.itemName(n, path, "name", pol.Name, &policies, false)
				k.Policies = append(k.Policies, pol)
			})
		},
	})
}

// patterns reads a KES policy's allow or deny list: API path patterns as path.Match takes them.
func (p *parser) patterns(n *yaml.Node, at0 string) []string {
	var out []string
	p.list(n, at0, func(n *yaml.Node, path string) {
		s := p.str(n, path)
		if _, err := pathMatch(s); s != "" && (err != nil || !strings.HasPrefix(s, "/v1/")) {
			p.errorf(n, path, "bad pattern %q (want an API path pattern such as /v1/key/generate/app-*)", s)
		}
		out = append(out, s)
	})
	return out
}

func (p *parser) s3(n *yaml.Node, at0 string) {
	s := &p.s.S3
	buckets := unique{what: "bucket"}
	p.mapping(n, at0, fields{
		"credentials": func(n *yaml.Node, path string) {
			p.mapping(n, path, fields{
				"access_key": func(n *yaml.Node, path string) { s.AccessKey = p.str(n, path) },
				"secret_key": func(n *yaml.Node, path string) { s.SecretKey = p.str(n, path) },
			})
			switch {
			case s.AccessKey == "" || s.SecretKey == "":
				p.errorf(n, path, "access_key and secret_key are both required")
			case len(s.AccessKey) < 3:
				p.errorf(keyNode(n, "access_key"), path+".access_key", "shorter than 3 characters")
			case len(s.SecretKey) < 8:
				p.errorf(keyNode(n, "secret_key"), path+".secret_key", "shorter than 8 characters")
			}
		},
		"buckets": func(n *yaml.Node, at0 string) {
			p.list(n, at0, func(n *yaml.Node, path string) {
				b := Bucket{at: at(n)}
				objects := unique{what: "object"}
				p.mapping(n, path, fields{
					"name": func(n *yaml.Node, path string) {
						if b.Name = p.str(n, path); b.Name != "" && !validBucketName(b.Name) {
							p.errorf(n, path, "bad bucket name %q (want 3 to 63 of a-z, 0-9, . and -)", b.Name)
						}
					},
					"encryption": func(n *yaml.Node, path string) {
						switch b.Encryption = p.str(n, path); b.Encryption {
						case "sse-s3", "sse-kms", "":
						default:
							p.errorf(n, path, "unknown encryption %q (want sse-s3 or sse-kms)", b.Encryption)
						}
					},
					"key_id": func(n *yaml.Node, path string) { b.KeyID = p.str(n, path) },
					"objects": func(n *yaml.Node, at0 string) {
						p.list(n, at0, func(n *yaml.Node, path string) {
							o := Object{at: at(n)}
							var content, file string
							var hasContent bool
							p.mapping(n, path, fields{
								"key":     func(n *yaml.Node, path string) { o.Key = p.str(n, path) },
								"content": func(n *yaml.Node, path string) { content, hasContent = p.str(n, path), true },
								"file":    func(n *yaml.Node, path string) { file = p.str(n, path) },
							})
							p.itemName(n, path, "key", o.Key, &objects, false)
							where, _ := p.oneOf(n, path, "content", hasContent, "file", file != "")
							o.Content = []byte(content)
							if file != "" {
								o.Content = p.readFile(where, path+".file", file)
							}
							b.Objects = append(b.Objects, o)
						})
					},
				})
				p.required(n, path, "name", b.Name)
				if b.KeyID != "" && b.Encryption != "sse-kms" {
					p.errorf(keyNode(n, "key_id"), path+".key_id", "key_id needs encryption: sse-kms")
				}
				p.unique(&buckets, keyNode(n, "name"), path+".name", b.Name)
				s.Buckets = append(s.Buckets, b)
			})
		},
	})
}

// oneOf reports an item that has both or neither of two keys, and returns the node and key
// that is there.
func (p *parser) oneOf(n *yaml.Node, path, a string, hasA bool, b string, hasB bool) (*yaml.Node, string) {
	switch {
	case hasA && hasB:
		p.errorf(n, path, "%s and %s are mutually exclusive", a, b)
	case !hasA && !hasB && n.Kind == yaml.MappingNode:
		p.errorf(n, path, "one of %s and %s is required", a, b)
	case hasB:
		return keyNode(n, b), b
	}
	return keyNode(n, a), a
}

// crossChecks are the checks across sections: a secret goes to a kv mount, a KES policy
// names identities the seed declares (or their hex hashes).
func (p *parser) crossChecks() {
	s := p.s
	for i, sec := range s.Vault.Secrets {
		if m := s.Vault.mountOf(sec.Path); m != nil && m.Type == "transit" {
			p.errs = append(p.errs, p.errAt(sec.at, "vault.secrets["+strconv.Itoa(i)+"].path", "mount "+m.Path+"/ is transit, not kv"))
		}
	}
	for i, pol := range s.KES.Policies {
		for j, id := range pol.Identities {
			if !s.KES.hasIdentity(id) && !isIdentityHash(id) {
				p.errs = append(p.errs, p.errAt(pol.at, "kes.policies["+strconv.Itoa(i)+"].identities["+strconv.Itoa(j)+"]",
					strconv.Quote(id)+" is neither an identity of kes.identities nor a hex identity"))
			}
		}
	}
}

func (p *parser) errAt(q pos, path, msg string) error {
	n := &yaml.Node{Line: q.line, Column: q.col}
	before := len(p.errs)
	p.errorf(n, path, "%s", msg)
	err := p.errs[before]
	p.errs = p.errs[:before]
	return err
}

// mountOf is the seed's mount with the longest path that holds key path, or nil.
func (v *Vault) mountOf(key string) *Mount {
	var best *Mount
	for i := range v.Mounts {
		m := &v.Mounts[i]
		if strings.HasPrefix(key, m.Path+"/") && (best == nil || len(m.Path) > len(best.Path)) {
			best = m
		}
	}
	return best
}

func (k *KES) hasIdentity(name string) bool {
	for _, id := range k.Identities {
		if id.Name == name {
			return true
		}
	}
	return false
}

func isIdentityHash(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32
}

func isCertificate(b []byte) bool {
	for {
		var block *pem.Block
		if block, b = pem.Decode(b); block == nil {
			return false
		}
		if block.Type == "CERTIFICATE" {
			_, err := x509.ParseCertificate(block.Bytes)
			return err == nil
		}
	}
}

// validName is KES's rule for key names, used for every name the seed declares.
func validName(s string) bool {
	if s == "" || len(s) > 80 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validMountPath(s string) bool {
	first, _, _ := strings.Cut(s, "/")
	switch first {
	case "sys", "auth", "cubbyhole", "identity":
		return false
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == ""
}

// validBucketName is S3's rule: 3 to 63 of a-z, 0-9, '.', '-', starting and ending with a
// letter or digit.
func validBucketName(s string) bool {
	if len(s) < 3 || len(s) > 63 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return false
	}
	alnum := func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }
	return alnum(s[0]) && alnum(s[len(s)-1]) && !strings.Contains(s, "..")
}

func validTTL(s string) bool {
	if _, err := strconv.ParseUint(s, 10, 63); err == nil {
		return true
	}
	d, err := time.ParseDuration(s)
	return err == nil && d > 0
}

func pathMatch(pattern string) (bool, error) { return path.Match(pattern, "") }

// itemName checks the name (or id, path, key) of a list item: present, unique in its list,
// and, when checked, a name as KES allows it.
func (p *parser) itemName(n *yaml.Node, path, key, name string, u *unique, checked bool) {
	p.required(n, path, key, name)
	if checked && name != "" && !validName(name) {
		p.errorf(keyNode(n, key), path+"."+key, "bad %s name %q (want letters, digits, - and _)", u.what, name)
	}
	p.unique(u, keyNode(n, key), path+"."+key, name)
}
