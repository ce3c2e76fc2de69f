package aesgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"testing"
)

// pair is New's AEAD and crypto/cipher's under one key. On a CPU without the 512-bit
// instructions New's is crypto/cipher's, and the tests hold it to itself.
func pair(t testing.TB, key []byte) (got, want cipher.AEAD) {
	t.Helper()
	got, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	want, err = cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return got, want
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestMatchesStdlib(t *testing.T) {
	t.Logf("512-bit VAES and VPCLMULQDQ on this CPU: %v", available)
	got, want := pair(t, random(32))
	for _, n := range []int{0, 1, 15, 16, 17, 255, 256, 257, 511, 512, 4095, 4096, 65536, 65537, 65536 + 255, 1 << 20} {
		for _, a := range []int{0, 4, 16, 33} {
			t.Run(fmt.Sprintf("%d/%d", n, a), func(t *testing.T) {
				pt, aad, nonce := random(n), random(a), random(NonceSize)
				c1 := got.Seal(nil, nonce, pt, aad)
				c2 := want.Seal(nil, nonce, pt, aad)
				if !bytes.Equal(c1, c2) {
					t.Fatalf("Seal differs from crypto/cipher (first byte at %d)", firstDiff(c1, c2))
				}
				p, err := got.Open(nil, nonce, c2, aad)
				if err != nil || !bytes.Equal(p, pt) {
					t.Fatalf("Open: %v", err)
				}
			})
		}
	}
}

// TestInPlaceAndUnaligned seals and opens in place, at every offset of a 16-byte block.
func TestInPlaceAndUnaligned(t *testing.T) {
	got, want := pair(t, random(32))
	nonce, aad := random(NonceSize), random(4)
	for off := range 17 {
		for _, n := range []int{300, 4096 + 7, 65536} {
			pt := random(n)
			buf := make([]byte, off+n+TagSize)
			copy(buf[off:], pt)
			c := got.Seal(buf[off:off], nonce, buf[off:off+n], aad)
			if w := want.Seal(nil, nonce, pt, aad); !bytes.Equal(c, w) {
				t.Fatalf("offset %d, %d bytes: in-place Seal differs", off, n)
			}
			p, err := got.Open(c[:0], nonce, c, aad)
			if err != nil || !bytes.Equal(p, pt) {
				t.Fatalf("offset %d, %d bytes: in-place Open: %v", off, n, err)
			}
		}
	}
}

// TestOpenRefuses changes every part of a sealed message in turn: Open must fail, say so
// as crypto/cipher does, and leave no plaintext in dst.
func TestOpenRefuses(t *testing.T) {
	got, want := pair(t, random(32))
	nonce, aad := random(NonceSize), random(4)
	pt := random(65536 + 100)
	sealed := want.Seal(nil, nonce, pt, aad)
	check := func(name string, nonce, c, aad []byte) {
		t.Helper()
		dst := make([]byte, 0, len(c))
		p, err := got.Open(dst, nonce, c, aad)
		_, werr := want.Open(nil, nonce, c, aad)
		if err == nil || p != nil || werr == nil || err.Error() != werr.Error() {
			t.Fatalf("%s: Open = %d bytes, %v; crypto/cipher: %v", name, len(p), err, werr)
		}
		if d := dst[:max(len(c)-TagSize, 0)]; !bytes.Equal(d, make([]byte, len(d))) {
			t.Fatalf("%s: plaintext left in dst", name)
		}
	}
	for _, i := range []int{0, 255, 256, 65535, 65536, len(pt) - 1, len(pt), len(sealed) - 1} {
		c := bytes.Clone(sealed)
		c[i] ^= 0x10
		check(fmt.Sprintf("bit flipped at %d", i), nonce, c, aad)
	}
	check("short tag", nonce, sealed[:len(sealed)-1], aad)
	check("cut after the bulk", nonce, append(bytes.Clone(sealed[:65536]), sealed[len(sealed)-TagSize:]...), aad)
	check("other additional data", nonce, sealed, []byte("abcd"))
	check("no additional data", nonce, sealed, nil)
	n2 := bytes.Clone(nonce)
	n2[11] ^= 1
	check("other nonce", n2, sealed, aad)
	check("too short", nonce, sealed[:TagSize-1], aad)
}

// TestSlow is the AEAD without the 512-bit instructions: crypto/cipher's.
func TestSlow(t *testing.T) {
	key := random(32)
	a, err := newAEAD(key, false)
	if err != nil {
		t.Fatal(err)
	}
	_, want := pair(t, key)
	nonce, pt := random(NonceSize), random(1000)
	if !bytes.Equal(a.Seal(nil, nonce, pt, nil), want.Seal(nil, nonce, pt, nil)) {
		t.Fatal("crypto/cipher's GCM differs from itself")
	}
	if _, err := New(key[:16]); err == nil {
		t.Fatal("New took a 16-byte key")
	}
}

// TestOverlapPanics: like crypto/cipher, Seal and Open refuse output that overlaps the
// input other than exactly.
func TestOverlapPanics(t *testing.T) {
	got, _ := pair(t, random(32))
	nonce := random(NonceSize)
	buf := make([]byte, 1000)
	for name, f := range map[string]func(){
		"Seal": func() { got.Seal(buf[1:1], nonce, buf[:500], nil) },
		"Open": func() { got.Open(buf[1:1], nonce, buf[:500], nil) },
		"aad":  func() { got.Seal(buf[:0], nonce, buf[:500], buf[510:514]) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic on overlapping buffers", name)
				}
			}()
			f()
		}()
	}
}

func FuzzAEAD(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef"), []byte("nonce-12byte"), []byte("data"), []byte("aad"), 0)
	f.Add(make([]byte, 32), make([]byte, 12), make([]byte, 300), []byte{}, 3)
	f.Fuzz(func(t *testing.T, key, nonce, pt, aad []byte, flip int) {
		if len(key) != 32 || len(nonce) != NonceSize {
			return
		}
		got, want := pair(t, key)
		c := got.Seal(nil, nonce, pt, aad)
		if w := want.Seal(nil, nonce, pt, aad); !bytes.Equal(c, w) {
			t.Fatal("Seal differs from crypto/cipher")
		}
		if p, err := got.Open(nil, nonce, c, aad); err != nil || !bytes.Equal(p, pt) {
			t.Fatalf("Open: %v", err)
		}
		if flip < 0 {
			flip = -flip
		}
		c[flip%len(c)] ^= 1
		if _, err := got.Open(nil, nonce, c, aad); err == nil {
			t.Fatal("Open took a changed message")
		}
	})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func BenchmarkAEAD(b *testing.B) {
	key := random(32)
	got, want := pair(b, key)
	nonce := random(NonceSize)
	aad := random(4)
	for _, c := range []struct {
		name string
		aead cipher.AEAD
	}{{"aesgcm", got}, {"stdlib", want}} {
		buf := make([]byte, 64<<10+TagSize)
		b.Run("Seal64K/"+c.name, func(b *testing.B) {
			b.SetBytes(64 << 10)
			for b.Loop() {
				c.aead.Seal(buf[:0], nonce, buf[:64<<10], aad)
			}
		})
		sealed := c.aead.Seal(nil, nonce, buf[:64<<10], aad)
		b.Run("Open64K/"+c.name, func(b *testing.B) {
			b.SetBytes(64 << 10)
			for b.Loop() {
				if _, err := c.aead.Open(buf[:0], nonce, sealed, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestNoAllocations: sealing and opening in place allocate nothing.
func TestNoAllocations(t *testing.T) {
	got, _ := pair(t, random(32))
	nonce, aad := random(NonceSize), random(4)
	buf := make([]byte, 65536+100+TagSize)
	allocs := testing.AllocsPerRun(10, func() {
		c := got.Seal(buf[:0], nonce, buf[:65536+100], aad)
		if _, err := got.Open(c[:0], nonce, c, aad); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Seal and Open", allocs)
	}
}

// BenchmarkNewSeal4K is a small object's cost: a new key and one 4 KiB package.
func BenchmarkNewSeal4K(b *testing.B) {
	key, nonce := random(32), random(NonceSize)
	buf := make([]byte, 4096+TagSize)
	for _, fast := range []bool{true, false} {
		if fast && !available {
			continue
		}
		b.Run(fmt.Sprintf("512-bit=%v", fast), func(b *testing.B) {
			b.SetBytes(4096)
			for b.Loop() {
				a, err := newAEAD(key, fast)
				if err != nil {
					b.Fatal(err)
				}
				a.Seal(buf[:0], nonce, buf[:4096], nil)
			}
		})
	}
}
