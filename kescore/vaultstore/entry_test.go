package vaultstore

import (
	"slices"
	"strings"
	"testing"
)

func TestEntryLayout(t *testing.T) {
	data := Entry("minio-key-1", []byte("record"))
	if len(data) != 1 || data["minio-key-1"] != "record" {
		t.Fatalf("Entry = %v, want {\"minio-key-1\": \"record\"}", data)
	}
	if got, err := Record(data, "kv/minio/minio-key-1", "minio-key-1"); err != nil || string(got) != "record" {
		t.Errorf("Record = %q, %v", got, err)
	}
	for name, bad := range map[string]map[string]any{
		"missing":    {"other": "record"},
		"null":       {"minio-key-1": nil},
		"not-string": {"minio-key-1": 42.0},
	} {
		if _, err := Record(bad, "kv/minio/minio-key-1", "minio-key-1"); err == nil || !strings.Contains(err.Error(), "kv/minio/minio-key-1") {
			t.Errorf("%s: Record = %v, want an error naming the entry", name, err)
		}
	}
	got := Names([]string{"minio-b", "sub/", "minio-a", "other"}, "minio-")
	if !slices.Equal(got, []string{"minio-a", "minio-b"}) {
		t.Errorf("Names = %q", got)
	}
	if got := Names(nil, ""); got == nil || len(got) != 0 {
		t.Errorf("Names(nil) = %#v, want empty and not nil", got)
	}
}
