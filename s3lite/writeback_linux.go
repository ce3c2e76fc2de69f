//go:build linux

package s3lite

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing bytes [off, off+n) of f
// to disk and returns without waiting for them, so that the device works
// while the upload still hashes and encrypts, and the fsync that makes
// the body durable finds little left to write. It is only a hint: errors
// are ignored here and reported by that fsync.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
