package embeddedvault

import (
	"net/http"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

func TestKVv2Backend(t *testing.T) {
	b, s := newInmemBackend(t, newKVv2)
	var r, u, d, l logical.Operation = logical.ReadOperation, logical.UpdateOperation, logical.DeleteOperation, logical.ListOperation
	errDo(t, b, s, u, "data/k", map[string]any{}, "no data provided")
	resp := mustDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"a": "1"}, "options": map[string]any{"cas": 0}})
	if resp.Data["version"] != uint64(1) || resp.Data["deletion_time"] != "" || resp.Data["destroyed"] != false {
		t.Fatalf("write = %v", resp.Data)
	}
	errDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"a": "2"}, "options": map[string]any{"cas": 0}},
		"check-and-set parameter did not match the current version")
	mustDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"a": "2"}, "options": map[string]any{"cas": "1"}})
	resp = mustDo(t, b, s, r, "data/k", map[string]any{"version": "1"})
	if resp.Data["data"].(map[string]any)["a"] != "1" {
		t.Fatalf("version 1 = %v", resp.Data)
	}
	// cas_required in config.
	mustDo(t, b, s, u, "config", map[string]any{"cas_required": true, "max_versions": 2})
	errDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"a": "3"}}, "check-and-set parameter required for this call")
	mustDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"a": "3"}, "options": map[string]any{"cas": 2}})
	resp = mustDo(t, b, s, r, "metadata/k", nil)
	if resp.Data["current_version"] != uint64(3) || resp.Data["oldest_version"] != uint64(2) || len(resp.Data["versions"].(map[string]any)) != 2 {
		t.Fatalf("metadata after trim = %v", resp.Data)
	}
	if resp := mustDo(t, b, s, r, "data/k", map[string]any{"version": 1}); resp != nil {
		t.Fatalf("trimmed version readable: %v", resp)
	}
	// Soft delete latest -> 404 with metadata.
	mustDo(t, b, s, d, "data/k", nil)
	resp = mustDo(t, b, s, r, "data/k", nil)
	if resp.Data[logical.HTTPStatusCode] != http.StatusNotFound {
		t.Fatalf("deleted read = %v", resp.Data)
	}
	mustDo(t, b, s, u, "undelete/k", map[string]any{"versions": "3"})
	if resp := mustDo(t, b, s, r, "data/k", nil); resp.Data["data"].(map[string]any)["a"] != "3" {
		t.Fatalf("undeleted read = %v", resp.Data)
	}
	errDo(t, b, s, u, "destroy/k", map[string]any{}, "no version number provided")
	mustDo(t, b, s, u, "destroy/k", map[string]any{"versions": []any{3}})
	if resp := mustDo(t, b, s, r, "data/k", nil); resp.Data[logical.HTTPStatusCode] != http.StatusNotFound {
		t.Fatalf("destroyed read = %v", resp.Data)
	}
	mustDo(t, b, s, u, "data/dir/x", map[string]any{"data": map[string]any{"a": "1"}, "options": map[string]any{"cas": 0}})
	if keys := mustDo(t, b, s, l, "metadata/", nil).Data["keys"].([]string); len(keys) != 2 || keys[0] != "dir/" || keys[1] != "k" {
		t.Fatalf("metadata list = %v", keys)
	}
	mustDo(t, b, s, d, "metadata/k", nil)
	if resp := mustDo(t, b, s, r, "metadata/k", nil); resp != nil {
		t.Fatalf("metadata after delete = %v", resp)
	}
	if ents, _ := s.List(t.Context(), "versions/k/"); len(ents) != 0 {
		t.Fatalf("versions left after metadata delete: %v", ents)
	}
	// v1-style path.
	if resp := mustDo(t, b, s, r, "k", nil); resp.Data[logical.HTTPStatusCode] != http.StatusNotFound {
		t.Fatalf("v1 path = %v", resp.Data)
	}
}
