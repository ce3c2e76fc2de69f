//go:build !linux

package s3lite

import "os"

// setDirect reports false where O_DIRECT cannot be set: bodies are written
// through the page cache.
func setDirect(*os.File, bool) bool { return false }
