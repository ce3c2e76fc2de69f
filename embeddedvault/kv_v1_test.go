package embeddedvault

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

func TestKVv1Backend(t *testing.T) {
	b, s := newInmemBackend(t, newKVv1)
	var r, u, d, l logical.Operation = logical.ReadOperation, logical.UpdateOperation, logical.DeleteOperation, logical.ListOperation
	if resp := mustDo(t, b, s, r, "a/b", nil); resp != nil {
		t.Fatalf("read absent = %v", resp)
	}
	errDo(t, b, s, u, "a/b", nil, "missing data fields")
	errDo(t, b, s, u, "a/", map[string]any{"x": "y"}, `invalid secret path "a/"`)
	mustDo(t, b, s, u, "a/b", map[string]any{"k": "v", "n": json.Number("7"), "path": "kept"})
	resp := mustDo(t, b, s, r, "a/b", nil)
	if resp.Data["k"] != "v" || resp.Data["n"] != json.Number("7") || resp.Data["path"] != "kept" || resp.Secret == nil || resp.Secret.TTL != 0 {
		t.Fatalf("read = %+v", resp)
	}
	mustDo(t, b, s, u, "a/ttl", map[string]any{"ttl": "1h", "v": "x"})
	if resp := mustDo(t, b, s, r, "a/ttl", nil); resp.Secret.TTL != time.Hour {
		t.Fatalf("ttl field lease = %v", resp.Secret.TTL)
	}
	mustDo(t, b, s, u, "a/c/d", map[string]any{"k": "v"})
	resp = mustDo(t, b, s, l, "a/", nil)
	if got := resp.Data["keys"].([]string); !slices.Equal(got, []string{"b", "c/", "ttl"}) {
		t.Fatalf("list = %v", got)
	}
	mustDo(t, b, s, d, "a/b", nil)
	mustDo(t, b, s, d, "a/b", nil) // idempotent
	if resp := mustDo(t, b, s, r, "a/b", nil); resp != nil {
		t.Fatalf("read deleted = %v", resp)
	}
	if resp := mustDo(t, b, s, l, "none/", nil); resp.Data["keys"] != nil {
		t.Fatalf("empty list = %v", resp.Data)
	}
}
