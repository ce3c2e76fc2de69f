package kv

import (
	"net/http"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/kmsbox/kmsbox/embeddedvault/internal/enginetest"
)

func TestKVv2Backend(t *testing.T) {
	b, s := enginetest.New(t, NewV2)
	var r, u, d, l logical.Operation = logical.ReadOperation, logical.UpdateOperation, logical.DeleteOperation, logical.ListOperation
	enginetest.ErrDo(t, b, s, u, "data/k", map[string]any{}, "no data provided")
	resp := enginetest.MustDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"a": "1"}, "options": map[string]any{"cas": 0}})
	if resp.Data["version"] != uint64(1) || resp.Data["deletion_time"] != "" || resp.Data["destroyed"] != false {
		t.Fatalf("write = %v", resp.Data)
	}
	enginetest.ErrDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"a": "2"}, "options": map[string]any{"cas": 0}},
		"check-and-set parameter did not match the current version")
	enginetest.MustDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"a": "2"}, "options": map[string]any{"cas": "1"}})
	resp = enginetest.MustDo(t, b, s, r, "data/k", map[string]any{"version": "1"})
	if resp.Data["data"].(map[string]any)["a"] != "1" {
		t.Fatalf("version 1 = %v", resp.Data)
	}
	// cas_required in config.
	enginetest.MustDo(t, b, s, u, "config", map[string]any{"cas_required": true, "max_versions": 2})
	enginetest.ErrDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"a": "3"}}, "check-and-set parameter required for this call")
	enginetest.MustDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"a": "3"}, "options": map[string]any{"cas": 2}})
	resp = enginetest.MustDo(t, b, s, r, "metadata/k", nil)
	if resp.Data["current_version"] != uint64(3) || resp.Data["oldest_version"] != uint64(2) || len(resp.Data["versions"].(map[string]any)) != 2 {
		t.Fatalf("metadata after trim = %v", resp.Data)
	}
	if resp := enginetest.MustDo(t, b, s, r, "data/k", map[string]any{"version": 1}); resp != nil {
		t.Fatalf("trimmed version readable: %v", resp)
	}
	// Soft delete latest -> 404 with metadata.
	enginetest.MustDo(t, b, s, d, "data/k", nil)
	resp = enginetest.MustDo(t, b, s, r, "data/k", nil)
	if resp.Data[logical.HTTPStatusCode] != http.StatusNotFound {
		t.Fatalf("deleted read = %v", resp.Data)
	}
	enginetest.MustDo(t, b, s, u, "undelete/k", map[string]any{"versions": "3"})
	if resp := enginetest.MustDo(t, b, s, r, "data/k", nil); resp.Data["data"].(map[string]any)["a"] != "3" {
		t.Fatalf("undeleted read = %v", resp.Data)
	}
	enginetest.ErrDo(t, b, s, u, "destroy/k", map[string]any{}, "no version number provided")
	enginetest.MustDo(t, b, s, u, "destroy/k", map[string]any{"versions": []any{3}})
	if resp := enginetest.MustDo(t, b, s, r, "data/k", nil); resp.Data[logical.HTTPStatusCode] != http.StatusNotFound {
		t.Fatalf("destroyed read = %v", resp.Data)
	}
	enginetest.MustDo(t, b, s, u, "data/dir/x", map[string]any{"data": map[string]any{"a": "1"}, "options": map[string]any{"cas": 0}})
	if keys := enginetest.MustDo(t, b, s, l, "metadata/", nil).Data["keys"].([]string); len(keys) != 2 || keys[0] != "dir/" || keys[1] != "k" {
		t.Fatalf("metadata list = %v", keys)
	}
	enginetest.MustDo(t, b, s, d, "metadata/k", nil)
	if resp := enginetest.MustDo(t, b, s, r, "metadata/k", nil); resp != nil {
		t.Fatalf("metadata after delete = %v", resp)
	}
	if ents, _ := s.List(t.Context(), "versions/k/"); len(ents) != 0 {
		t.Fatalf("versions left after metadata delete: %v", ents)
	}
	// v1-style path.
	if resp := enginetest.MustDo(t, b, s, r, "k", nil); resp.Data[logical.HTTPStatusCode] != http.StatusNotFound {
		t.Fatalf("v1 path = %v", resp.Data)
	}
}

// TestKVv2VersionStateAndMetadata covers delete/undelete/destroy of chosen
// versions, engine config reads and metadata writes with their refusals.
func TestKVv2VersionStateAndMetadata(t *testing.T) {
	b, s := enginetest.New(t, NewV2)
	var r, u logical.Operation = logical.ReadOperation, logical.UpdateOperation
	for _, v := range []string{"1", "2", "3"} {
		enginetest.MustDo(t, b, s, u, "data/k", map[string]any{"data": map[string]any{"v": v}})
	}
	readVersion := func(v int) (string, bool) {
		t.Helper()
		resp := enginetest.MustDo(t, b, s, r, "data/k", map[string]any{"version": v})
		if resp == nil || resp.Data[logical.HTTPStatusCode] == http.StatusNotFound {
			return "", false
		}
		return resp.Data["data"].(map[string]any)["v"].(string), true
	}

	enginetest.ErrDo(t, b, s, u, "delete/k", map[string]any{}, "no version number provided")
	enginetest.MustDo(t, b, s, u, "delete/k", map[string]any{"versions": "1,99"})
	if _, ok := readVersion(1); ok {
		t.Fatal("soft-deleted version 1 readable")
	}
	if v, ok := readVersion(0); !ok || v != "3" {
		t.Fatalf("latest after deleting version 1 = %q, %v", v, ok)
	}
	enginetest.MustDo(t, b, s, u, "undelete/k", map[string]any{"versions": []any{1}})
	if v, ok := readVersion(1); !ok || v != "1" {
		t.Fatalf("undeleted version 1 = %q, %v", v, ok)
	}
	enginetest.MustDo(t, b, s, u, "destroy/k", map[string]any{"versions": "2"})
	enginetest.MustDo(t, b, s, u, "undelete/k", map[string]any{"versions": "2"})
	if _, ok := readVersion(2); ok {
		t.Fatal("destroyed version 2 came back with undelete")
	}
	if ents, _ := s.List(t.Context(), "versions/k/"); len(ents) != 2 {
		t.Fatalf("stored versions after destroying one = %v, want 2", ents)
	}
	// Version changes on a key that does not exist are no-ops.
	enginetest.MustDo(t, b, s, u, "delete/missing", map[string]any{"versions": "1"})
	if resp := enginetest.MustDo(t, b, s, r, "metadata/missing", nil); resp != nil {
		t.Fatalf("delete/ on a missing key created metadata: %v", resp.Data)
	}

	cfg := enginetest.MustDo(t, b, s, r, "config", nil).Data
	if cfg["max_versions"] != 0 || cfg["cas_required"] != false || cfg["delete_version_after"] != "0s" {
		t.Fatalf("default config = %v", cfg)
	}
	enginetest.ErrDo(t, b, s, u, "config", map[string]any{"max_versions": -1}, "max_versions cannot be negative")
	enginetest.MustDo(t, b, s, u, "config", map[string]any{"delete_version_after": "1h"})
	if cfg := enginetest.MustDo(t, b, s, r, "config", nil).Data; cfg["delete_version_after"] != "1h0m0s" || cfg["max_versions"] != 0 {
		t.Fatalf("config after write = %v", cfg)
	}

	enginetest.ErrDo(t, b, s, u, "metadata/k", map[string]any{"max_versions": -1}, "max_versions cannot be negative")
	enginetest.MustDo(t, b, s, u, "metadata/k", map[string]any{"max_versions": 1, "custom_metadata": "owner=kes"})
	m := enginetest.MustDo(t, b, s, r, "metadata/k", nil).Data
	if m["max_versions"] != 1 || m["current_version"] != uint64(3) || m["oldest_version"] != uint64(3) ||
		len(m["versions"].(map[string]any)) != 1 || m["custom_metadata"].(map[string]string)["owner"] != "kes" {
		t.Fatalf("metadata after max_versions=1 = %v", m)
	}
	if v, ok := readVersion(0); !ok || v != "3" {
		t.Fatalf("latest after trim = %q, %v", v, ok)
	}
	enginetest.MustDo(t, b, s, u, "metadata/new", map[string]any{"cas_required": true})
	if m := enginetest.MustDo(t, b, s, r, "metadata/new", nil).Data; m["cas_required"] != true || m["current_version"] != uint64(0) {
		t.Fatalf("metadata of a key without versions = %v", m)
	}
	enginetest.ErrDo(t, b, s, u, "data/new", map[string]any{"data": map[string]any{"v": "1"}}, "check-and-set parameter required for this call")
}
