package approle

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/kmsbox/kmsbox/embeddedvault/internal/enginetest"
)

func TestAppRoleBackend(t *testing.T) {
	b, s := enginetest.New(t, New)
	var r, u, d, l logical.Operation = logical.ReadOperation, logical.UpdateOperation, logical.DeleteOperation, logical.ListOperation
	// The guide's string arguments, then an update that keeps them.
	enginetest.MustDo(t, b, s, u, "role/kes-role", map[string]any{"token_num_uses": "0", "secret_id_num_uses": "0", "period": "5m"})
	enginetest.MustDo(t, b, s, u, "role/kes-role", map[string]any{"policies": "minio-key-policy,other"})
	role := enginetest.MustDo(t, b, s, r, "role/kes-role", nil).Data
	if role["token_period"] != int64(300) || role["period"] != int64(300) || !slices.Equal(role["token_policies"].([]string), []string{"minio-key-policy", "other"}) || role["bind_secret_id"] != true {
		t.Fatalf("role = %v", role)
	}
	if keys := enginetest.MustDo(t, b, s, l, "role/", nil).Data["keys"].([]string); !slices.Equal(keys, []string{"kes-role"}) {
		t.Fatalf("roles = %v", keys)
	}
	enginetest.ErrDo(t, b, s, u, "role/bad", map[string]any{"token_num_uses": "-1"}, "'token_num_uses' cannot be negative")
	enginetest.ErrDo(t, b, s, u, "role/bad", map[string]any{"bind_secret_id": false}, "at least one constraint should be enabled on the role")
	roleID := enginetest.MustDo(t, b, s, r, "role/kes-role/role-id", nil).Data["role_id"].(string)

	sec := enginetest.MustDo(t, b, s, u, "role/kes-role/secret-id", map[string]any{}).Data
	secretID, accessor := sec["secret_id"].(string), sec["secret_id_accessor"].(string)
	enginetest.ErrDo(t, b, s, u, "login", map[string]any{}, "missing role_id")
	enginetest.ErrDo(t, b, s, u, "login", map[string]any{"role_id": roleID}, "missing secret_id")
	enginetest.ErrDo(t, b, s, u, "login", map[string]any{"role_id": "nope", "secret_id": secretID}, "invalid role or secret ID")
	enginetest.ErrDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": "nope"}, "invalid role or secret ID")
	resp := enginetest.MustDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if a := resp.Auth; a == nil || a.Period != 5*time.Minute || a.NumUses != 0 || !a.Renewable || a.Metadata["role_name"] != "kes-role" || !slices.Equal(a.Policies, []string{"minio-key-policy", "other"}) {
		t.Fatalf("auth = %+v", resp.Auth)
	}
	look := enginetest.MustDo(t, b, s, u, "role/kes-role/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor}).Data
	if look["secret_id_num_uses"] != 0 {
		t.Fatalf("lookup = %v", look)
	}

	// Limited secret IDs: two logins, then invalid.
	lim := enginetest.MustDo(t, b, s, u, "role/kes-role/secret-id", map[string]any{"num_uses": "2", "metadata": `{"team":"x"}`}).Data["secret_id"].(string)
	for i := range 2 {
		resp := enginetest.MustDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": lim})
		if i == 0 && resp.Auth.Metadata["team"] != "x" {
			t.Fatalf("secret-id metadata not in auth: %v", resp.Auth.Metadata)
		}
	}
	enginetest.ErrDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": lim}, "invalid role or secret ID")

	// CIDR-bound secret ID rejects the test address.
	cidr := enginetest.MustDo(t, b, s, u, "role/kes-role/secret-id", map[string]any{"cidr_list": "10.0.0.0/8"}).Data["secret_id"].(string)
	if resp, _ := enginetest.Do(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": cidr}); resp == nil || !resp.IsError() {
		t.Fatalf("CIDR-bound login = %v", resp)
	}

	// Custom role ID, destroy, delete.
	enginetest.MustDo(t, b, s, u, "role/kes-role/role-id", map[string]any{"role_id": "custom-id"})
	enginetest.ErrDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": secretID}, "invalid role or secret ID")
	enginetest.MustDo(t, b, s, u, "login", map[string]any{"role_id": "custom-id", "secret_id": secretID})
	enginetest.MustDo(t, b, s, u, "role/kes-role/secret-id/destroy", map[string]any{"secret_id": secretID})
	enginetest.ErrDo(t, b, s, u, "login", map[string]any{"role_id": "custom-id", "secret_id": secretID}, "invalid role or secret ID")
	enginetest.MustDo(t, b, s, d, "role/kes-role", nil)
	if resp := enginetest.MustDo(t, b, s, r, "role/kes-role", nil); resp != nil {
		t.Fatalf("deleted role = %v", resp)
	}
	if keys, _ := s.List(t.Context(), ""); slices.Contains(keys, "role_id/") || slices.Contains(keys, "secret_id/") || slices.Contains(keys, "accessor/") {
		t.Fatalf("storage left after role delete: %v", keys)
	}
}

// TestAppRoleSecretIDErrors covers the refusals of secret-ID generation,
// lookup and login that the happy path above never reaches.
func TestAppRoleSecretIDErrors(t *testing.T) {
	b, s := enginetest.New(t, New)
	var r, u logical.Operation = logical.ReadOperation, logical.UpdateOperation
	enginetest.MustDo(t, b, s, u, "role/a", map[string]any{"policies": "p"})
	enginetest.MustDo(t, b, s, u, "role/b", map[string]any{"policies": "p"})
	enginetest.MustDo(t, b, s, u, "role/nosecret", map[string]any{"bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.0/8"})

	enginetest.ErrDo(t, b, s, u, "role/missing/secret-id", map[string]any{}, `role "missing" does not exist`)
	enginetest.ErrDo(t, b, s, u, "role/nosecret/secret-id", map[string]any{}, "bind_secret_id is not set on the role")
	enginetest.ErrDo(t, b, s, u, "role/a/secret-id", map[string]any{"num_uses": -1}, "num_uses cannot be negative")
	if resp, err := enginetest.Do(t, b, s, u, "role/a/secret-id", map[string]any{"metadata": "{"}); err != nil || resp == nil || !resp.IsError() ||
		!strings.HasPrefix(resp.Error().Error(), "failed to parse metadata") {
		t.Fatalf("bad metadata = %v, %v", resp, err)
	}
	if resp, err := enginetest.Do(t, b, s, u, "role/a/secret-id", map[string]any{"cidr_list": "10.0.0.0/33"}); err != nil || resp == nil || !resp.IsError() ||
		!strings.HasPrefix(resp.Error().Error(), "invalid CIDR") {
		t.Fatalf("bad CIDR = %v, %v", resp, err)
	}
	if keys, _ := s.List(t.Context(), arSecretIDPrefix); len(keys) != 0 {
		t.Fatalf("refused generations stored secret IDs: %v", keys)
	}

	// Lookups need the ID, and an accessor only answers under its own role.
	sec := enginetest.MustDo(t, b, s, u, "role/a/secret-id", map[string]any{"ttl": "1h"}).Data
	secretID, accessor := sec["secret_id"].(string), sec["secret_id_accessor"].(string)
	enginetest.ErrDo(t, b, s, u, "role/a/secret-id/lookup", map[string]any{}, "missing secret_id")
	enginetest.ErrDo(t, b, s, u, "role/a/secret-id-accessor/lookup", map[string]any{}, "missing secret_id_accessor")
	enginetest.ErrDo(t, b, s, u, "role/b/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor},
		`failed to find accessor entry for secret_id_accessor: "`+accessor+`"`)
	enginetest.ErrDo(t, b, s, u, "role/b/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": accessor},
		`failed to find accessor entry for secret_id_accessor: "`+accessor+`"`)
	if resp := enginetest.MustDo(t, b, s, u, "role/b/secret-id/lookup", map[string]any{"secret_id": secretID}); resp != nil {
		t.Fatalf("secret ID of role a found under role b: %v", resp.Data)
	}
	look := enginetest.MustDo(t, b, s, u, "role/a/secret-id/lookup", map[string]any{"secret_id": secretID}).Data
	if look["secret_id_accessor"] != accessor || look["secret_id_ttl"] != int64(3600) || look["expiration_time"] == nil {
		t.Fatalf("lookup = %v", look)
	}

	if keys := enginetest.MustDo(t, b, s, logical.ListOperation, "role/a/secret-id", nil).Data["keys"].([]string); !slices.Equal(keys, []string{accessor}) {
		t.Fatalf("secret ID accessors of role a = %v, want [%s]", keys, accessor)
	}
	if resp := enginetest.MustDo(t, b, s, logical.ListOperation, "role/b/secret-id", nil); resp.Data["keys"] != nil {
		t.Fatalf("secret ID accessors of role b = %v, want none", resp.Data["keys"])
	}

	// An expired secret ID fails login and is removed with its accessor.
	roleID := enginetest.MustDo(t, b, s, r, "role/a/role-id", nil).Data["role_id"].(string)
	key, err := b.(*backend).secretIDKey(t.Context(), s, "a", secretID)
	if err != nil {
		t.Fatal(err)
	}
	e, err := b.(*backend).getSecretID(t.Context(), s, key)
	if err != nil || e == nil {
		t.Fatalf("stored secret ID: %v, %v", e, err)
	}
	e.ExpirationTime = time.Now().Add(-time.Second)
	if err := b.(*backend).putSecretID(t.Context(), s, key, e); err != nil {
		t.Fatal(err)
	}
	enginetest.ErrDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": secretID}, "invalid role or secret ID")
	for _, k := range []string{key, arAccessorPrefix + accessor} {
		if se, err := s.Get(t.Context(), k); err != nil || se != nil {
			t.Fatalf("%s after expired login: %v, %v", k, se, err)
		}
	}

	// A role ID belongs to one role.
	idB := enginetest.MustDo(t, b, s, r, "role/b/role-id", nil).Data["role_id"].(string)
	enginetest.ErrDo(t, b, s, u, "role/a/role-id", map[string]any{"role_id": idB}, "role_id already in use")
	enginetest.ErrDo(t, b, s, u, "role/a/role-id", map[string]any{}, "missing role_id")
	enginetest.ErrDo(t, b, s, u, "role/missing/role-id", map[string]any{"role_id": "x"}, `role "missing" does not exist`)
	if got := enginetest.MustDo(t, b, s, r, "role/a/role-id", nil).Data["role_id"]; got != roleID {
		t.Fatalf("role a's ID after refused changes = %v, want %v", got, roleID)
	}
}

// failingStorage fails Get under prefix, standing for a broken barrier.
type failingStorage struct {
	logical.Storage
	prefix string
}

var errStorageDown = errors.New("storage down")

func (f failingStorage) Get(ctx context.Context, key string) (*logical.StorageEntry, error) {
	if strings.HasPrefix(key, f.prefix) {
		return nil, errStorageDown
	}
	return f.Storage.Get(ctx, key)
}

// TestAppRoleRoleIDStorageFailure: a storage failure while moving the
// role-ID index is an error (HTTP 500), not a refusal worded as the
// storage error (HTTP 400), and leaves the role's ID as it was.
func TestAppRoleRoleIDStorageFailure(t *testing.T) {
	b, s := enginetest.New(t, New)
	var r, u logical.Operation = logical.ReadOperation, logical.UpdateOperation
	enginetest.MustDo(t, b, s, u, "role/a", map[string]any{"policies": "p"})
	roleID := enginetest.MustDo(t, b, s, r, "role/a/role-id", nil).Data["role_id"]
	broken := failingStorage{Storage: s, prefix: arRoleIDPrefix}
	for _, path := range []string{"role/a/role-id", "role/a"} {
		resp, err := enginetest.Do(t, b, broken, u, path, map[string]any{"role_id": "new-id"})
		if !errors.Is(err, errStorageDown) || (resp != nil && resp.IsError()) {
			t.Fatalf("%s with broken storage = %v, %v; want %v", path, resp, err, errStorageDown)
		}
	}
	if got := enginetest.MustDo(t, b, s, r, "role/a/role-id", nil).Data["role_id"]; got != roleID {
		t.Fatalf("role ID after failed changes = %v, want %v", got, roleID)
	}
}

func TestAppRoleCustomSecretID(t *testing.T) {
	b, s := enginetest.New(t, New)
	var u logical.Operation = logical.UpdateOperation
	enginetest.MustDo(t, b, s, u, "role/a", map[string]any{"policies": "p"})
	enginetest.ErrDo(t, b, s, u, "role/a/custom-secret-id", map[string]any{}, "missing secret_id")
	sec := enginetest.MustDo(t, b, s, u, "role/a/custom-secret-id", map[string]any{"secret_id": "fixed-secret"}).Data
	if sec["secret_id"] != "fixed-secret" || sec["secret_id_accessor"] == "" {
		t.Fatalf("custom-secret-id = %v", sec)
	}
	enginetest.ErrDo(t, b, s, u, "role/a/custom-secret-id", map[string]any{"secret_id": "fixed-secret"}, "SecretID is already registered")
	if look := enginetest.MustDo(t, b, s, u, "role/a/secret-id/lookup", map[string]any{"secret_id": "fixed-secret"}); look == nil ||
		look.Data["secret_id_accessor"] != sec["secret_id_accessor"] {
		t.Fatalf("lookup of the custom secret ID = %v", look)
	}
}
