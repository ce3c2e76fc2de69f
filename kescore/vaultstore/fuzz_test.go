package vaultstore

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/kmsbox/kmsbox/kescore"
)

// FuzzEntryValue feeds arbitrary Vault read answers to the field
// extraction: it never panics, and a value it returns is the string field
// of the entry.
func FuzzEntryValue(f *testing.F) {
	f.Add([]byte(`{"data":{"k":"v"}}`), false)
	f.Add([]byte(`{"data":{"data":{"k":"v"},"metadata":{"version":1}}}`), true)
	f.Add([]byte(`{"data":{"data":null}}`), true)
	f.Add([]byte(`{"data":null,"warnings":["Invalid path for a versioned K/V secrets engine."]}`), false)
	f.Add([]byte(`{"data":{"k":5}}`), false)
	f.Fuzz(func(t *testing.T, body []byte, v2 bool) {
		secret, err := vaultapi.ParseSecret(bytes.NewReader(body))
		if err != nil {
			return
		}
		v, err := entryValue(secret, v2, "kv/x/k", "k")
		if err != nil {
			if secret == nil && !errors.Is(err, kescore.ErrKeyNotFound) {
				t.Fatalf("no secret but %v", err)
			}
			return
		}
		data := secret.Data
		if v2 {
			data = data["data"].(map[string]any)
		}
		if data["k"] != v {
			t.Fatalf("value %q, entry %v", v, data)
		}
	})
}

// FuzzListedNames: arbitrary list answers give sorted, prefixed names
// without folders, or an error.
func FuzzListedNames(f *testing.F) {
	f.Add([]byte(`{"data":{"keys":["b","a","sub/","a-1"]}}`), "a")
	f.Add([]byte(`{"data":{"keys":[1]}}`), "")
	f.Add([]byte(`{"data":{"keys":"x"}}`), "")
	f.Add([]byte(`{"data":null}`), "")
	f.Fuzz(func(t *testing.T, body []byte, prefix string) {
		secret, err := vaultapi.ParseSecret(bytes.NewReader(body))
		if err != nil {
			return
		}
		names, err := listedNames(secret, "kv/x", prefix)
		if err != nil {
			return
		}
		if !slices.IsSorted(names) {
			t.Fatalf("unsorted %v", names)
		}
		for _, n := range names {
			if !strings.HasPrefix(n, prefix) || strings.HasSuffix(n, "/") {
				t.Fatalf("name %q for prefix %q", n, prefix)
			}
		}
	})
}
