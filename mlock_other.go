//go:build !(dragonfly || freebsd || linux || openbsd || solaris)

package main

// mlockSupported is false: this system has no mlockall(2).
const mlockSupported = false

// lockMemory is never called where mlockSupported is false.
func lockMemory() error { return nil }
