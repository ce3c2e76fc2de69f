package main

import (
	"io"
	"slices"
	"testing"
)

func TestFlagsFirst(t *testing.T) {
	cmds := newApp(io.Discard, io.Discard).Commands
	for _, tc := range []struct {
		name      string
		args, out []string
	}{
		{"guide key create", []string{"kmsbox", "key", "create", "minio-key-1", "-k"},
			[]string{"kmsbox", "key", "create", "-k", "minio-key-1"}},
		{"identity new, flags after NAME", []string{"kmsbox", "identity", "new", "MinIO", "--key", "m.key", "--cert=m.crt", "--time", "8760h"},
			[]string{"kmsbox", "identity", "new", "--key", "m.key", "--cert=m.crt", "--time", "8760h", "MinIO"}},
		{"already flags first", []string{"kmsbox", "key", "decrypt", "--server", "https://x:7373", "k", "Y3Q="},
			[]string{"kmsbox", "key", "decrypt", "--server", "https://x:7373", "k", "Y3Q="}},
		{"double dash ends flags", []string{"kmsbox", "key", "create", "--", "-odd"},
			[]string{"kmsbox", "key", "create", "--", "-odd"}},
		{"alias", []string{"kmsbox", "key", "ls", "minio*", "--insecure"},
			[]string{"kmsbox", "key", "ls", "--insecure", "minio*"}},
		{"unknown command untouched", []string{"kmsbox", "nope", "a", "-b"}, []string{"kmsbox", "nope", "a", "-b"}},
		{"group command untouched", []string{"kmsbox", "key", "-h"}, []string{"kmsbox", "key", "-h"}},
	} {
		if got := flagsFirst(cmds, tc.args); !slices.Equal(got, tc.out) {
			t.Errorf("%s: flagsFirst(%q) = %q, want %q", tc.name, tc.args, got, tc.out)
		}
	}
}
