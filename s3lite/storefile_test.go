package s3lite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
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

// TestReplacedBodiesRemoved: the bodies an overwrite and a delete replace are unlinked off
// the request path, and gone once the store has closed (close drains the queue); the
// current body stays. After close, removeFiles unlinks at once.
func TestReplacedBodiesRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.bucket("trash")
	put := func(key string, body []byte) {
		t.Helper()
		if _, err := e.mc.PutObject(ctx, b, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put("k", randBytes(100))
	put("gone", randBytes(100))
	old := bodyFiles(t, e, b, "k")
	deleted := bodyFiles(t, e, b, "gone")
	body := randBytes(70000)
	put("k", body)
	if err := e.mc.RemoveObject(ctx, b, "gone", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	cur := bodyFiles(t, e, b, "k")
	e.restart()
	for _, f := range append(old, deleted...) {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("replaced body %s: %v, want removed", f, err)
		}
	}
	for _, f := range cur {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("current body %s: %v", f, err)
		}
	}
	o, err := e.mc.GetObject(ctx, b, "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o)
	o.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GET after the restart: %d bytes, %v", len(got), err)
	}

	st, err := openStore(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	name := "ab/ab" + strings.Repeat("1", 30)
	path := filepath.Join(st.dataDir, filepath.FromSlash(name))
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !validFileName(name) {
		t.Fatalf("%q is not a body file name", name)
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	st.removeFiles([]string{name})
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removeFiles after close: %v, want removed", err)
	}
}

// TestRemoveFilesQueueFull: with the removal queue full, removeFiles unlinks the body
// itself, at once, and leaves nothing counted as queued.
func TestRemoveFilesQueueFull(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := &store{dataDir: dir, trash: make(chan string)} // no room, no remover
	name := "cd/cd" + strings.Repeat("2", 30)
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	st.removeFiles([]string{name, "../not-a-body"})
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("body with the queue full: %v, want removed", err)
	}
	st.settle() // returns: nothing was left counted as queued
}
