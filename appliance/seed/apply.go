package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Apply brings the servers to the seed's state: it creates what is missing, overwrites what
// differs and leaves what is equal alone, so applying a seed twice changes nothing. It
// stops at the first error, naming the item ("vault.mounts[1] (secret/): ..."). Everything
// that can be checked without the servers was checked by Parse.
func (s *Seed) Apply(ctx context.Context, t Targets) error {
	v, k, o := s.Vault, s.KES, s.S3
	if len(v.Mounts)+len(v.Secrets)+len(v.Policies)+len(v.AppRoles)+len(v.Tokens) > 0 {
		if t.Vault == nil {
			return fmt.Errorf("%s: the vault section needs the vault, unsealed and in-process (--dev)", s.File)
		}
		if err := s.applyVault(ctx, t.Vault); err != nil {
			return fmt.Errorf("%s: %w", s.File, err)
		}
	}
	if len(k.Keys) > 0 {
		if t.KES == nil {
			return fmt.Errorf("%s: kes.keys need the in-process key server", s.File)
		}
		for i, key := range k.Keys {
			var err error
			if key.Material == nil {
				err = t.KES.CreateKey(ctx, key.Name)
			} else {
				err = t.KES.ImportKey(ctx, key.Name, key.Material)
			}
			if err != nil && !errors.Is(err, ErrExists) {
				return fmt.Errorf("%s: kes.keys[%d] (%s): %w", s.File, i, key.Name, err)
			}
		}
	}
	if len(o.Buckets) > 0 {
		if t.S3 == nil {
			return fmt.Errorf("%s: s3.buckets need the S3 server", s.File)
		}
		for i, b := range o.Buckets {
			if err := applyBucket(ctx, t.S3, b); err != nil {
				return fmt.Errorf("%s: s3.buckets[%d] (%s): %w", s.File, i, b.Name, err)
			}
		}
	}
	return nil
}

func applyBucket(ctx context.Context, s3 S3API, b Bucket) error {
	if err := s3.CreateBucket(ctx, b.Name); err != nil && !errors.Is(err, ErrExists) {
		return err
	}
	algo, keyID, err := s3.BucketEncryption(ctx, b.Name)
	if err != nil {
		return err
	}
	if algo != b.Encryption || keyID != b.KeyID {
		if err := s3.SetBucketEncryption(ctx, b.Name, b.Encryption, b.KeyID); err != nil {
			return fmt.Errorf("encryption: %w", err)
		}
	}
	for i, o := range b.Objects {
		have, err := s3.GetObject(ctx, b.Name, o.Key)
		switch {
		case err == nil && bytes.Equal(have, o.Content):
			continue
		case err != nil && !errors.Is(err, ErrNotFound):
			return fmt.Errorf("objects[%d] (%s): %w", i, o.Key, err)
		}
		if err := s3.PutObject(ctx, b.Name, o.Key, o.Content); err != nil {
			return fmt.Errorf("objects[%d] (%s): %w", i, o.Key, err)
		}
	}
	return nil
}

func (s *Seed) applyVault(ctx context.Context, vault VaultAPI) error {
	v := s.Vault
	mounts, err := vault.Request(ctx, "GET", "sys/mounts", nil)
	if err != nil {
		return fmt.Errorf("vault: list mounts: %w", err)
	}
	for i, m := range v.Mounts {
		if err := applyMount(ctx, vault, mounts, m); err != nil {
			return fmt.Errorf("vault.mounts[%d] (%s/): %w", i, m.Path, err)
		}
	}
	if len(v.Mounts) > 0 {
		if mounts, err = vault.Request(ctx, "GET", "sys/mounts", nil); err != nil {
			return fmt.Errorf("vault: list mounts: %w", err)
		}
	}
	for i, sec := range v.Secrets {
		if err := applySecret(ctx, vault, mounts, sec); err != nil {
			return fmt.Errorf("vault.secrets[%d] (%s): %w", i, sec.Path, err)
		}
	}
	for i, pol := range v.Policies {
		if err := applyPolicy(ctx, vault, pol); err != nil {
			return fmt.Errorf("vault.policies[%d] (%s): %w", i, pol.Name, err)
		}
	}
	if len(v.AppRoles) > 0 {
		auths, err := vault.Request(ctx, "GET", "sys/auth", nil)
		if err != nil {
			return fmt.Errorf("vault: list auth methods: %w", err)
		}
		if table(auths)["approle/"] == nil {
			if _, err := vault.Request(ctx, "POST", "sys/auth/approle", map[string]any{"type": "approle"}); err != nil {
				return fmt.Errorf("vault: enable approle: %w", err)
			}
		}
	}
	for i, r := range v.AppRoles {
		if err := applyAppRole(ctx, vault, r); err != nil {
			return fmt.Errorf("vault.approles[%d] (%s): %w", i, r.Name, err)
		}
	}
	for i, t := range v.Tokens {
		if err := applyToken(ctx, vault, t); err != nil {
			return fmt.Errorf("vault.tokens[%d]: %w", i, err)
		}
	}
	return nil
}

// table is the mount table of a sys/mounts or sys/auth answer: "path/" -> entry.
func table(resp map[string]any) map[string]any {
	if d, ok := resp["data"].(map[string]any); ok {
		return d
	}
	return resp
}

// engineOf names a mount table entry as the seed does: kv, kv-v2, transit, or its type.
func engineOf(entry any) string {
	e, _ := entry.(map[string]any)
	typ, _ := e["type"].(string)
	if typ == "kv" {
		if opts, _ := e["options"].(map[string]any); opts != nil && fmt.Sprint(opts["version"]) == "2" {
			return "kv-v2"
		}
	}
	return typ
}

func applyMount(ctx context.Context, vault VaultAPI, mounts map[string]any, m Mount) error {
	entry, ok := table(mounts)[m.Path+"/"]
	switch {
	case ok && engineOf(entry) != m.Type:
		return fmt.Errorf("%s/ is a %s mount already, the seed wants %s", m.Path, engineOf(entry), m.Type)
	case !ok:
		body := map[string]any{"type": m.Type}
		if m.Type == "kv-v2" {
			body = map[string]any{"type": "kv", "options": map[string]any{"version": "2"}}
		}
		if _, err := vault.Request(ctx, "POST", "sys/mounts/"+m.Path, body); err != nil {
			return err
		}
	}
	for _, k := range m.Keys {
		_, err := vault.Request(ctx, "GET", m.Path+"/keys/"+k, nil)
		if errors.Is(err, ErrNotFound) {
			_, err = vault.Request(ctx, "POST", m.Path+"/keys/"+k, nil)
		}
		if err != nil {
			return fmt.Errorf("key %s: %w", k, err)
		}
	}
	return nil
}

func applySecret(ctx context.Context, vault VaultAPI, mounts map[string]any, sec Secret) error {
	mount, engine := "", ""
	for p, e := range table(mounts) {
		if strings.HasPrefix(sec.Path, p) && len(p) > len(mount) {
			mount, engine = p, engineOf(e)
		}
	}
	switch engine {
	case "kv":
		have, err := vault.Request(ctx, "GET", sec.Path, nil)
		if err == nil && sameJSON(have["data"], sec.Data) {
			return nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		_, err = vault.Request(ctx, "PUT", sec.Path, sec.Data)
		return err
	case "kv-v2":
		p := mount + "data/" + strings.TrimPrefix(sec.Path, mount)
		have, err := vault.Request(ctx, "GET", p, nil)
		if err == nil {
			if d, _ := have["data"].(map[string]any); d != nil && sameJSON(d["data"], sec.Data) {
				return nil
			}
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		_, err = vault.Request(ctx, "POST", p, map[string]any{"data": sec.Data})
		return err
	case "":
		return errors.New("no kv mount holds this path (declare one in vault.mounts)")
	}
	return fmt.Errorf("mount %s is %s, not kv", mount, engine)
}

func applyPolicy(ctx context.Context, vault VaultAPI, pol Policy) error {
	have, err := vault.Request(ctx, "GET", "sys/policies/acl/"+pol.Name, nil)
	if err == nil {
		if d, _ := have["data"].(map[string]any); d != nil && d["policy"] == pol.Policy {
			return nil
		}
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	_, err = vault.Request(ctx, "PUT", "sys/policies/acl/"+pol.Name, map[string]any{"policy": pol.Policy})
	return err
}

func applyAppRole(ctx context.Context, vault VaultAPI, r AppRole) error {
	role := "auth/approle/role/" + r.Name
	policies := sorted(r.Policies)
	have, err := vault.Request(ctx, "GET", role, nil)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if d, _ := have["data"].(map[string]any); err != nil || !slices.Equal(sorted(stringList(d["token_policies"])), policies) {
		if _, err := vault.Request(ctx, "POST", role, map[string]any{"token_policies": policies}); err != nil {
			return err
		}
	}
	if r.RoleID != "" {
		have, err := vault.Request(ctx, "GET", role+"/role-id", nil)
		if err != nil {
			return err
		}
		if d, _ := have["data"].(map[string]any); d == nil || d["role_id"] != r.RoleID {
			if _, err := vault.Request(ctx, "POST", role+"/role-id", map[string]any{"role_id": r.RoleID}); err != nil {
				return fmt.Errorf("role_id: %w", err)
			}
		}
	}
	if r.SecretID != "" {
		have, err := vault.Request(ctx, "POST", role+"/secret-id/lookup", map[string]any{"secret_id": r.SecretID})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("secret_id: %w", err)
		}
		if have == nil || have["data"] == nil {
			if _, err := vault.Request(ctx, "POST", role+"/custom-secret-id", map[string]any{"secret_id": r.SecretID}); err != nil {
				return fmt.Errorf("secret_id: %w", err)
			}
		}
	}
	return nil
}

func applyToken(ctx context.Context, vault VaultAPI, t Token) error {
	want := sorted(append([]string{"default"}, t.Policies...))
	have, err := vault.Request(ctx, "POST", "auth/token/lookup", map[string]any{"token": t.ID})
	if err == nil {
		d, _ := have["data"].(map[string]any)
		if slices.Equal(sorted(stringList(d["policies"])), want) {
			return nil
		}
		if _, err := vault.Request(ctx, "POST", "auth/token/revoke", map[string]any{"token": t.ID}); err != nil {
			return err
		}
	}
	body := map[string]any{"id": t.ID, "policies": t.Policies, "no_parent": true}
	if t.TTL != "" {
		body["ttl"] = t.TTL
	}
	_, err = vault.Request(ctx, "POST", "auth/token/create", body)
	return err
}

// sameJSON compares two values as JSON, so that a YAML 5 and a JSON 5.0 are equal.
func sameJSON(a, b any) bool {
	norm := func(v any) string {
		raw, _ := json.Marshal(v)
		var out any
		json.Unmarshal(raw, &out)
		raw, _ = json.Marshal(out)
		return string(raw)
	}
	return a != nil && norm(a) == norm(b)
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
