package embeddedvault

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

func TestAppRoleBackend(t *testing.T) {
	b, s := newInmemBackend(t, newAppRole)
	var r, u, d, l logical.Operation = logical.ReadOperation, logical.UpdateOperation, logical.DeleteOperation, logical.ListOperation
	// The guide's string arguments, then an update that keeps them.
	mustDo(t, b, s, u, "role/kes-role", map[string]any{"token_num_uses": "0", "secret_id_num_uses": "0", "period": "5m"})
	mustDo(t, b, s, u, "role/kes-role", map[string]any{"policies": "minio-key-policy,other"})
	role := mustDo(t, b, s, r, "role/kes-role", nil).Data
	if role["token_period"] != int64(300) || role["period"] != int64(300) || !slices.Equal(role["token_policies"].([]string), []string{"minio-key-policy", "other"}) || role["bind_secret_id"] != true {
		t.Fatalf("role = %v", role)
	}
	if keys := mustDo(t, b, s, l, "role/", nil).Data["keys"].([]string); !slices.Equal(keys, []string{"kes-role"}) {
		t.Fatalf("roles = %v", keys)
	}
	errDo(t, b, s, u, "role/bad", map[string]any{"token_num_uses": "-1"}, "'token_num_uses' cannot be negative")
	errDo(t, b, s, u, "role/bad", map[string]any{"bind_secret_id": false}, "at least one constraint should be enabled on the role")
	roleID := mustDo(t, b, s, r, "role/kes-role/role-id", nil).Data["role_id"].(string)

	sec := mustDo(t, b, s, u, "role/kes-role/secret-id", map[string]any{}).Data
	secretID, accessor := sec["secret_id"].(string), sec["secret_id_accessor"].(string)
	errDo(t, b, s, u, "login", map[string]any{}, "missing role_id")
	errDo(t, b, s, u, "login", map[string]any{"role_id": roleID}, "missing secret_id")
	errDo(t, b, s, u, "login", map[string]any{"role_id": "nope", "secret_id": secretID}, "invalid role or secret ID")
	errDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": "nope"}, "invalid role or secret ID")
	resp := mustDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if a := resp.Auth; a == nil || a.Period != 5*time.Minute || a.NumUses != 0 || !a.Renewable || a.Metadata["role_name"] != "kes-role" || !slices.Equal(a.Policies, []string{"minio-key-policy", "other"}) {
		t.Fatalf("auth = %+v", resp.Auth)
	}
	look := mustDo(t, b, s, u, "role/kes-role/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor}).Data
	if look["secret_id_num_uses"] != 0 {
		t.Fatalf("lookup = %v", look)
	}

	// Limited secret IDs: two logins, then invalid.
	lim := mustDo(t, b, s, u, "role/kes-role/secret-id", map[string]any{"num_uses": "2", "metadata": `{"team":"x"}`}).Data["secret_id"].(string)
	for i := range 2 {
		resp := mustDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": lim})
		if i == 0 && resp.Auth.Metadata["team"] != "x" {
			t.Fatalf("secret-id metadata not in auth: %v", resp.Auth.Metadata)
		}
	}
	errDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": lim}, "invalid role or secret ID")

	// CIDR-bound secret ID rejects the test address.
	cidr := mustDo(t, b, s, u, "role/kes-role/secret-id", map[string]any{"cidr_list": "10.0.0.0/8"}).Data["secret_id"].(string)
	if resp, _ := do(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": cidr}); resp == nil || !resp.IsError() {
		t.Fatalf("CIDR-bound login = %v", resp)
	}

	// Custom role ID, destroy, delete.
	mustDo(t, b, s, u, "role/kes-role/role-id", map[string]any{"role_id": "custom-id"})
	errDo(t, b, s, u, "login", map[string]any{"role_id": roleID, "secret_id": secretID}, "invalid role or secret ID")
	mustDo(t, b, s, u, "login", map[string]any{"role_id": "custom-id", "secret_id": secretID})
	mustDo(t, b, s, u, "role/kes-role/secret-id/destroy", map[string]any{"secret_id": secretID})
	errDo(t, b, s, u, "login", map[string]any{"role_id": "custom-id", "secret_id": secretID}, "invalid role or secret ID")
	mustDo(t, b, s, d, "role/kes-role", nil)
	if resp := mustDo(t, b, s, r, "role/kes-role", nil); resp != nil {
		t.Fatalf("deleted role = %v", resp)
	}
	if keys, _ := s.List(t.Context(), ""); slices.Contains(keys, "role_id/") || slices.Contains(keys, "secret_id/") || slices.Contains(keys, "accessor/") {
		t.Fatalf("storage left after role delete: %v", keys)
	}
}
