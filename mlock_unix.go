//go:build dragonfly || freebsd || linux || openbsd || solaris

package main

import "golang.org/x/sys/unix"

// mlockSupported reports whether lockMemory can lock memory here: the
// systems with mlockall(2), as in Vault's own mlock helper.
const mlockSupported = true

// lockMemory keeps every current and future page of the process in RAM,
// so that keys are never swapped to disk.
func lockMemory() error {
	return unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE)
}
