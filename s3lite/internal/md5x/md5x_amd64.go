//go:build amd64 && !purego

package md5x

import "golang.org/x/sys/cpu"

// The kernel uses AVX-512 F only (VPGATHERDD, VPTERNLOGD, VPROLD, embedded broadcast).
var available = cpu.X86.HasAVX512F

// blocks16 advances the 16 lanes' states (a, b, c, d, each a vector of 16) over n blocks
// read at base+offs[lane] onwards. It is in md5x16_amd64.s.
//
//go:noescape
func blocks16(state *[4][Lanes]uint32, base *byte, offs *[Lanes]int32, n int)
