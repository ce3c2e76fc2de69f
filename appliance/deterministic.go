package appliance

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"strconv"
)

// deterministicNote is the attribute every log line carries, and the banner's first line,
// in deterministic mode (--deterministic).
const deterministicNote = "deterministic mode: for tests only"

// deriver makes the secrets of a deterministic start (Config.Deterministic): each is
// HKDF-SHA256 of the seed with a label naming its use ("vault root key", "kes identity
// minio"), so two fresh starts with the same seed agree on every credential, and a
// different seed gives different ones. A nil deriver draws from crypto/rand.
type deriver struct{ seed string }

// newDeriver returns nil (random secrets) for an empty seed.
func newDeriver(seed string) *deriver {
	if seed == "" {
		return nil
	}
	return &deriver{seed: seed}
}

// bytes returns n bytes for label.
func (d *deriver) bytes(label string, n int) []byte {
	if d == nil {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	b, err := hkdf.Key(sha256.New, []byte(d.seed), []byte("kmsbox deterministic v1"), label, n)
	if err != nil {
		panic(err) // only for n > 255*32, which no caller asks for
	}
	return b
}

// reader is an endless stream for label: crypto/rand for a nil deriver.
func (d *deriver) reader(label string) io.Reader {
	if d == nil {
		return rand.Reader
	}
	return &hkdfStream{d: d, label: label}
}

// hkdfStream reads HKDF output in blocks of 8 KiB, each block its own label, so that it
// never ends (one HKDF expansion stops at 8160 bytes).
type hkdfStream struct {
	d     *deriver
	label string
	block int
	buf   []byte
}

func (s *hkdfStream) Read(p []byte) (int, error) {
	if len(s.buf) == 0 {
		s.buf = s.d.bytes(s.label+" "+strconv.Itoa(s.block), 8160)
		s.block++
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}
