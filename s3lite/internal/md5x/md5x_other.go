//go:build !amd64 || purego

package md5x

var available = false

func blocks16(*[4][Lanes]uint32, *byte, *[Lanes]int32, int) {
	panic("md5x: no multi-lane MD5 on this machine")
}
