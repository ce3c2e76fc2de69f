package certs

import "errors"

// ErrCorrupt reports key material in Dir that exists but cannot be used:
// unreadable PEM, a key that does not match its certificate, or half of a
// pair missing. The manager never replaces a CA it cannot read, since clients
// trust the old one; restore the files or remove them deliberately.
var ErrCorrupt = errors.New("certs: stored certificate material is unusable")

// ErrInvalidName reports an identity name that cannot be used as a file name
// in Dir.
var ErrInvalidName = errors.New("certs: invalid identity name")
