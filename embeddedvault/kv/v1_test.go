package kv

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
	"github.com/kmsbox/kmsbox/embeddedvault/internal/enginetest"
)

func TestKVv1Backend(t *testing.T) {
	b, s := enginetest.New(t, NewV1)
	var r, u, d, l logical.Operation = logical.ReadOperation, logical.UpdateOperation, logical.DeleteOperation, logical.ListOperation
	if resp := enginetest.MustDo(t, b, s, r, "a/b", nil); resp != nil {
		t.Fatalf("read absent = %v", resp)
	}
	enginetest.ErrDo(t, b, s, u, "a/b", nil, "missing data fields")
	enginetest.ErrDo(t, b, s, u, "a/", map[string]any{"x": "y"}, `invalid secret path "a/"`)
	enginetest.MustDo(t, b, s, u, "a/b", map[string]any{"k": "v", "n": json.Number("7"), "path": "kept"})
	resp := enginetest.MustDo(t, b, s, r, "a/b", nil)
	if resp.Data["k"] != "v" || resp.Data["n"] != json.Number("7") || resp.Data["path"] != "kept" || resp.Secret == nil || resp.Secret.TTL != 0 {
		t.Fatalf("read = %+v", resp)
	}
	enginetest.MustDo(t, b, s, u, "a/ttl", map[string]any{"ttl": "1h", "v": "x"})
	if resp := enginetest.MustDo(t, b, s, r, "a/ttl", nil); resp.Secret.TTL != time.Hour {
		t.Fatalf("ttl field lease = %v", resp.Secret.TTL)
	}
	enginetest.MustDo(t, b, s, u, "a/c/d", map[string]any{"k": "v"})
	resp = enginetest.MustDo(t, b, s, l, "a/", nil)
	if got := resp.Data["keys"].([]string); !slices.Equal(got, []string{"b", "c/", "ttl"}) {
		t.Fatalf("list = %v", got)
	}
	enginetest.MustDo(t, b, s, d, "a/b", nil)
	enginetest.MustDo(t, b, s, d, "a/b", nil) // idempotent
	if resp := enginetest.MustDo(t, b, s, r, "a/b", nil); resp != nil {
		t.Fatalf("read deleted = %v", resp)
	}
	if resp := enginetest.MustDo(t, b, s, l, "none/", nil); resp.Data["keys"] != nil {
		t.Fatalf("empty list = %v", resp.Data)
	}
}
