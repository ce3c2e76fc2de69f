package s3lite

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestCommitFile: a committed body is under its returned name in data/ with its bytes and
// nothing is left in tmp/; a commit refused (context done) leaves neither a temp file nor a
// body file.
func TestCommitFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st := e.srv.st
	before := countDataFiles(t, e)
	data := randBytes(5000)
	f, err := st.tempFile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	name, err := st.commitFile(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if !validFileName(name) {
		t.Fatalf("name %q is not one commitFile makes", name)
	}
	got, err := os.ReadFile(filepath.Join(st.dataDir, filepath.FromSlash(name)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("committed body: %d bytes, %v", len(got), err)
	}
	if n := tmpEntries(t, e); n != 0 {
		t.Fatalf("tmp holds %d files after the commit", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f, err = st.tempFile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.commitFile(ctx, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("commit with a done context: %v", err)
	}
	if n := tmpEntries(t, e); n != 0 {
		t.Fatalf("tmp holds %d files after a refused commit", n)
	}
	if n := countDataFiles(t, e); n != before+1 {
		t.Fatalf("data holds %d body files, want %d", n, before+1)
	}
}

// BenchmarkCommitFile writes and commits 4 KiB bodies from 16 goroutines: the file system
// part of a small PUT (create, write, rename, the fsyncs of file and directory).
func BenchmarkCommitFile(b *testing.B) {
	e := newEnv(b)
	st := e.srv.st
	data := randBytes(4 << 10)
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f, err := st.tempFile()
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := f.Write(data); err != nil {
				b.Error(err)
				return
			}
			name, err := st.commitFile(context.Background(), f)
			if err != nil {
				b.Error(err)
				return
			}
			st.removeFiles([]string{name})
		}
	})
}
