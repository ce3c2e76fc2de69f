package dare

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/minio/sio"
	"golang.org/x/crypto/chacha20poly1305"
)

// sioConfig is the configuration s3lite decrypts DARE with (default cipher suites: both).
func sioConfig(key []byte, seq uint32) sio.Config {
	return sio.Config{MinVersion: sio.Version20, MaxVersion: sio.Version20, Key: key, SequenceNumber: seq}
}

// sioEncrypt is sio's encryption of data under key with a random nonce and the given cipher
// suites (nil: sio's default).
func sioEncrypt(t testing.TB, data, key []byte, suites []byte) []byte {
	t.Helper()
	cfg := sioConfig(key, 0)
	cfg.CipherSuites = suites
	var out bytes.Buffer
	if _, err := sio.Encrypt(&out, bytes.NewReader(data), cfg); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// sioRead is what sio's DecryptReader gives of stream read to its end: the plaintext it
// hands out, and the error that stops it (nil at io.EOF).
func sioRead(t testing.TB, src io.Reader, key []byte, seq uint32) ([]byte, error) {
	t.Helper()
	dr, err := sio.DecryptReader(src, sioConfig(key, seq))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = io.Copy(&out, dr)
	return out.Bytes(), err
}

// readMode is how a test reads a Reader: nil with WriteTo, else Read with these sizes of p,
// cycled.
type readMode []int

func (m readMode) String() string {
	if m == nil {
		return "WriteTo"
	}
	return fmt.Sprintf("Read %v", []int(m))
}

var readModes = []readMode{nil, {1, 7, 4096, 100000}, {100000}}

// dareRead is what a Reader over src with a buffer of bufSize gives read to its end in mode:
// the plaintext it hands out and the error that stops it (nil at io.EOF). A Reader that
// ended keeps answering io.EOF, one that failed its error.
func dareRead(t testing.TB, src io.Reader, key []byte, seq uint32, bufSize int, mode readMode) ([]byte, error) {
	t.Helper()
	r, err := NewReader(src, key, seq, make([]byte, bufSize))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if mode == nil {
		n, err := r.WriteTo(&out)
		if n != int64(out.Len()) {
			t.Fatalf("WriteTo says %d bytes, wrote %d", n, out.Len())
		}
		if n, err2 := r.Read(make([]byte, 10)); n != 0 || err == nil && err2 != io.EOF || err != nil && err2 != err {
			t.Fatalf("Read after WriteTo returned %v: %d, %v", err, n, err2)
		}
		return out.Bytes(), err
	}
	p := make([]byte, 100000)
	for i := 0; ; i++ {
		n, err := r.Read(p[:mode[i%len(mode)]])
		out.Write(p[:n])
		if err == nil {
			continue
		}
		if n, err2 := r.Read(p); n != 0 || err2 != err {
			t.Fatalf("Read after %v: %d, %v", err, n, err2)
		}
		if err == io.EOF {
			err = nil
		}
		return out.Bytes(), err
	}
}

// sealPkg seals one package by hand, with any version, cipher suite (AES-256-GCM for all but
// 0x01), nonce, sequence number and final flag: the streams no writer makes.
func sealPkg(t testing.TB, key []byte, version, suite byte, nonce [12]byte, seq uint32, payload []byte, final bool) []byte {
	t.Helper()
	aead, err := newAEAD(key)
	if suite == chacha20Poly1305 {
		aead, err = chacha20poly1305.New(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sealWith(aead, version, suite, nonce, seq, payload, final)
}

// sealWith seals one package by hand with aead, whatever its header says.
func sealWith(aead cipher.AEAD, version, suite byte, nonce [12]byte, seq uint32, payload []byte, final bool) []byte {
	h := make([]byte, HeaderSize, HeaderSize+len(payload)+TagSize)
	h[0], h[1] = version, suite
	binary.LittleEndian.PutUint16(h[2:4], uint16(len(payload)-1))
	copy(h[4:], nonce[:])
	h[4] &^= finalFlag
	if final {
		h[4] |= finalFlag
	}
	var iv [12]byte
	copy(iv[:], h[4:])
	binary.LittleEndian.PutUint32(iv[8:], binary.LittleEndian.Uint32(iv[8:])^seq)
	return aead.Seal(h, iv[:], payload, h[:4])
}

// TestReaderRoundTrip: what sio encrypts (AES-256-GCM and ChaCha20-Poly1305) and what Writer
// writes, the Reader decrypts to the plaintext, whatever its buffer and however it is read;
// an empty stream (sio's and Writer's encryption of nothing) it refuses, as sio does.
func TestReaderRoundTrip(t *testing.T) {
	t.Parallel()
	key, nonce := testKey(10)
	sizes := []int{0, 1, MaxPayload - 1, MaxPayload, MaxPayload + 1, 3 * MaxPayload, 3*MaxPayload + 100, 1<<20 + 17}
	bufs := []int{MaxPackage, MaxPackage + 1, 4 * MaxPackage, 512 << 10}
	for _, size := range sizes {
		data := testData(size)
		streams := map[string][]byte{
			"sio":          sioEncrypt(t, data, key, nil),
			"sio chacha20": sioEncrypt(t, data, key, []byte{sio.CHACHA20_POLY1305}),
			"Writer":       writeSplit(t, data, []int{100000}, 4096, key, &nonce).Bytes(),
		}
		for name, stream := range streams {
			for _, bufSize := range bufs {
				for _, mode := range readModes {
					what := fmt.Sprintf("%s stream of %d bytes, buffer %d, %v", name, size, bufSize, mode)
					got, err := dareRead(t, bytes.NewReader(stream), key, 0, bufSize, mode)
					if size == 0 {
						if _, sioErr := sioRead(t, bytes.NewReader(stream), key, 0); sioErr == nil {
							t.Fatalf("%s: sio accepts the empty stream", what)
						}
						if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrTampered) {
							t.Fatalf("%s: %v, want ErrTampered and io.ErrUnexpectedEOF", what, err)
						}
						continue
					}
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("%s: %d bytes (equal: %t), %v", what, len(got), bytes.Equal(got, data), err)
					}
				}
			}
		}
	}
}

// countReader counts the reads of its source.
type countReader struct {
	r     io.Reader
	reads int
}

func (c *countReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// TestReaderReadsLarge: the Reader fills its whole buffer with each read of the source, so
// that a larger buffer means fewer reads, and it allocates nothing per package. (Not
// parallel: AllocsPerRun.)
func TestReaderReadsLarge(t *testing.T) {
	key, nonce := testKey(11)
	data := testData(4<<20 + 17)
	stream := sioStream(t, data, key, &nonce)
	for _, bufSize := range []int{MaxPackage, 4 * MaxPackage, 256 << 10, 512 << 10, 2 << 20} {
		src := &countReader{r: bytes.NewReader(stream)}
		r, err := NewReader(src, key, 0, make([]byte, bufSize))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.WriteTo(io.Discard); err != nil {
			t.Fatal(err)
		}
		// Each read brings as many packages as the buffer holds, the first one and the last
		// two (the end of the stream, and its EOF) aside.
		perRead := bufSize / MaxPackage
		t.Logf("buffer %d: %d reads of a stream of %d packages", bufSize, src.reads, len(stream)/MaxPackage+1)
		if most := (len(stream)/MaxPackage+perRead-1)/perRead + 3; src.reads > most {
			t.Errorf("buffer %d: %d reads of a %d-byte stream, want at most %d", bufSize, src.reads, len(stream), most)
		}
	}
	buf := make([]byte, 512<<10)
	allocs := testing.AllocsPerRun(3, func() {
		r, err := NewReader(bytes.NewReader(stream), key, 0, buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.WriteTo(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
	if packages := len(stream) / MaxPackage; allocs > 20 {
		t.Errorf("%v allocations to read %d packages", allocs, packages)
	}
}

// TestReaderMidStream: a Reader of the section of a stream that starts at package k, given
// sequence number k, decrypts the rest of the stream, as sio does; with another sequence
// number both fail. A section that stops on a package boundary before the final package
// reads like sio's: read exactly its plaintext, after a skip or not, it succeeds (no
// error, not even a read of what follows); read on, it gives the section's plaintext and
// then fails, as sio does, with an error that is ErrTampered and io.ErrUnexpectedEOF (sio's
// is its own "sio: unexpected EOF"). A Reader reading ahead in its buffer does not fail a
// read for a damaged package it was not asked to decrypt.
func TestReaderMidStream(t *testing.T) {
	t.Parallel()
	key, _ := testKey(12)
	const packages = 5
	data := testData((packages-1)*MaxPayload + 100)
	stream := sioEncrypt(t, data, key, []byte{sio.AES_256_GCM})
	for _, bufSize := range []int{MaxPackage, 4 * MaxPackage, 512 << 10} {
		for _, mode := range readModes {
			for k := range packages {
				what := fmt.Sprintf("buffer %d, %v, from package %d", bufSize, mode, k)
				section := stream[k*MaxPackage:]
				got, err := dareRead(t, bytes.NewReader(section), key, uint32(k), bufSize, mode)
				if err != nil || !bytes.Equal(got, data[k*MaxPayload:]) {
					t.Fatalf("%s: %d bytes, %v", what, len(got), err)
				}
				for _, seq := range []uint32{uint32(k) + 1, uint32(k) - 1, 1 << 31} {
					_, sioErr := sioRead(t, bytes.NewReader(section), key, seq)
					_, err := dareRead(t, bytes.NewReader(section), key, seq, bufSize, mode)
					if sioErr == nil || !errors.Is(err, ErrTampered) {
						t.Fatalf("%s, sequence number %d: sio %v, Reader %v", what, seq, sioErr, err)
					}
				}
				// Sections that stop before the final package, at package j.
				for _, j := range []int{k + 1, k + 3} {
					if j >= packages {
						continue
					}
					what := fmt.Sprintf("%s to package %d", what, j)
					section := stream[k*MaxPackage : j*MaxPackage]
					want := data[k*MaxPayload : j*MaxPayload]
					sioGot, sioErr := sioRead(t, bytes.NewReader(section), key, uint32(k))
					got, err := dareRead(t, bytes.NewReader(section), key, uint32(k), bufSize, mode)
					if !bytes.Equal(sioGot, want) || sioErr == nil || sioErr.Error() != "sio: unexpected EOF" {
						t.Fatalf("%s: sio reads %d bytes, then %v", what, len(sioGot), sioErr)
					}
					if !bytes.Equal(got, want) || !errors.Is(err, ErrTampered) || !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("%s: Reader reads %d bytes, then %v", what, len(got), err)
					}
					for _, skip := range []int{0, 1, MaxPayload - 1, MaxPayload} {
						n := len(want) - skip
						if n <= 0 {
							continue
						}
						// As s3lite's rangeReader reads: skip, then the exact plaintext.
						read := func(r io.Reader) ([]byte, error) {
							if _, err := io.CopyN(io.Discard, r, int64(skip)); err != nil {
								return nil, err
							}
							var out bytes.Buffer
							_, err := io.Copy(&out, io.LimitReader(r, int64(n)))
							return out.Bytes(), err
						}
						dr, _ := sio.DecryptReader(bytes.NewReader(section), sioConfig(key, uint32(k)))
						sioGot, sioErr := read(dr)
						r, _ := NewReader(bytes.NewReader(section), key, uint32(k), make([]byte, bufSize))
						got, err := read(r)
						if sioErr != nil || err != nil || !bytes.Equal(sioGot, want[skip:]) || !bytes.Equal(got, want[skip:]) {
							t.Fatalf("%s, skip %d, exact range: sio %d bytes, %v; Reader %d bytes, %v", what, skip, len(sioGot), sioErr, len(got), err)
						}
					}
					// The whole rest of the stream, its package j damaged, read up to j.
					bad := bytes.Clone(stream[k*MaxPackage:])
					bad[(j-k)*MaxPackage+HeaderSize+5] ^= 1
					r, _ := NewReader(bytes.NewReader(bad), key, uint32(k), make([]byte, bufSize))
					var out bytes.Buffer
					if _, err := io.Copy(&out, io.LimitReader(r, int64(len(want)))); err != nil || !bytes.Equal(out.Bytes(), want) {
						t.Fatalf("%s, package %d damaged: %d bytes, %v", what, j, out.Len(), err)
					}
					if _, err := io.Copy(io.Discard, r); !errors.Is(err, ErrTampered) || errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("%s, package %d damaged, read on: %v", what, j, err)
					}
				}
			}
		}
	}
}

// TestReaderBadInput: every damaged stream sio refuses, the Reader refuses too, with
// ErrTampered (and io.ErrUnexpectedEOF for a stream cut short), after handing out the same
// plaintext as sio: that of the packages before the damage.
func TestReaderBadInput(t *testing.T) {
	t.Parallel()
	key, nonce := testKey(13)
	otherKey, otherNonce := testKey(14)
	data := testData(3*MaxPayload + 1000)
	stream := sioStream(t, data, key, &nonce) // 3 full packages and a final one of 1000 bytes
	P := MaxPackage
	pkg := func(i int) []byte { return stream[i*P : min((i+1)*P, len(stream))] }
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	flip := func(i int) []byte {
		b := bytes.Clone(stream)
		b[i] ^= 0x01
		return b
	}
	full := func(i int) []byte { return data[i*MaxPayload : (i+1)*MaxPayload] }
	seal := func(version, suite byte, nonce [12]byte, seq uint32, payload []byte, final bool) []byte {
		return sealPkg(t, key, version, suite, nonce, seq, payload, final)
	}
	gcm, err := newAEAD(key)
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name  string
		in    []byte
		key   []byte
		seq   uint32
		short bool // cut short: io.ErrUnexpectedEOF
	}
	cases := []tc{
		{name: "empty", in: nil, short: true},
		{name: "wrong key", in: stream, key: otherKey},
		{name: "wrong sequence number", in: stream, seq: 1},
		{name: "swapped packages", in: cat(pkg(1), pkg(0), pkg(2), pkg(3))},
		{name: "a package repeated", in: cat(pkg(0), pkg(0), pkg(1), pkg(2), pkg(3))},
		{name: "a package left out", in: cat(pkg(0), pkg(2), pkg(3))},
		{name: "the final package first", in: cat(pkg(3), pkg(0), pkg(1), pkg(2))},
		{name: "ends before the final package", in: cat(pkg(0), pkg(1), pkg(2)), short: true},
		{name: "one package, not final", in: pkg(0), short: true},
		{name: "a short package after the final one", in: cat(stream, pkg(3))},
		{name: "a full package after the final one", in: cat(pkg(0), seal(version20, aes256GCM, nonce, 1, full(1), true), seal(version20, aes256GCM, nonce, 2, full(2), false))},
		{name: "a final package after the final one", in: cat(pkg(0), seal(version20, aes256GCM, nonce, 1, full(1), true), seal(version20, aes256GCM, nonce, 2, []byte("x"), true))},
		{name: "a byte after the final package", in: cat(stream, []byte{0})},
		{name: "a byte after a full final package", in: cat(seal(version20, aes256GCM, nonce, 0, full(0), true), []byte{0x20})},
		{name: "a package of another nonce", in: cat(pkg(0), seal(version20, aes256GCM, otherNonce, 1, full(1), false), pkg(2), pkg(3))},
		{name: "a final package of another nonce", in: cat(pkg(0), pkg(1), pkg(2), seal(version20, aes256GCM, otherNonce, 3, data[3*MaxPayload:], true))},
		{name: "a short package not final", in: cat(seal(version20, aes256GCM, nonce, 0, data[:1000], false), seal(version20, aes256GCM, nonce, 1, data[1000:2000], true))},
		{name: "a short package not final, at the end", in: cat(pkg(0), seal(version20, aes256GCM, nonce, 1, data[:1000], false))},
		{name: "a full package followed by a short one, both final", in: cat(seal(version20, aes256GCM, nonce, 0, full(0), true), seal(version20, aes256GCM, nonce, 1, data[:10], true))},
		{name: "version 0x10", in: seal(0x10, aes256GCM, nonce, 0, data[:100], true)},
		{name: "version 0x21 in the second package", in: cat(pkg(0), seal(0x21, aes256GCM, nonce, 1, data[:100], true))},
		{name: "cipher suite 0x02", in: seal(version20, 0x02, nonce, 0, data[:100], true)},
		{name: "cipher suite 0xff", in: seal(version20, 0xff, nonce, 0, data[:100], true)},
		{name: "ChaCha20-Poly1305 after AES-256-GCM", in: cat(pkg(0), seal(version20, chacha20Poly1305, nonce, 1, data[:100], true))},
		{name: "a package that says ChaCha20-Poly1305, sealed with AES-256-GCM", in: cat(pkg(0), sealWith(gcm, version20, chacha20Poly1305, nonce, 1, data[:100], true))},
		{name: "AES-256-GCM after ChaCha20-Poly1305", in: cat(seal(version20, chacha20Poly1305, nonce, 0, full(0), false), seal(version20, aes256GCM, nonce, 1, data[:100], true))},
		{name: "a header alone", in: stream[:HeaderSize], short: true},
		{name: "a header and a tag", in: cat(stream[3*P:3*P+HeaderSize], stream[len(stream)-TagSize:]), short: true},
	}
	// Cut short anywhere: in a header, in a payload, in a tag, at a boundary.
	for _, cut := range []int{1, HeaderSize - 1, HeaderSize, HeaderSize + 1, P / 2, P - TagSize, P - 1, P + 3, 2 * P, 3 * P, 3*P + HeaderSize, len(stream) - TagSize, len(stream) - 1} {
		// A cut in the final (short) package leaves sio a read that is not a whole package,
		// which it calls an invalid payload size: a stream cut short all the same.
		cases = append(cases, tc{name: fmt.Sprintf("cut at %d", cut), in: stream[:cut], short: true})
	}
	// One bit flipped in each package's header, ciphertext and tag.
	for i := range 4 {
		start, end := i*P, min((i+1)*P, len(stream))
		for _, off := range []int{0, 1, 2, 3, 4, 5, 8, 11, 12, 15, HeaderSize, HeaderSize + 1000, end - start - TagSize - 1, end - start - TagSize, end - start - 1} {
			cases = append(cases, tc{name: fmt.Sprintf("package %d, byte %d flipped", i, off), in: flip(start + off)})
		}
		// The final flag set or cleared.
		b := bytes.Clone(stream)
		b[start+4] ^= finalFlag
		cases = append(cases, tc{name: fmt.Sprintf("package %d, final flag flipped", i), in: b})
	}
	for _, c := range cases {
		if c.key == nil {
			c.key = key
		}
		sioGot, sioErr := sioRead(t, bytes.NewReader(c.in), c.key, c.seq)
		if sioErr == nil {
			t.Fatalf("%s: sio accepts it", c.name)
		}
		for _, bufSize := range []int{MaxPackage, 4 * MaxPackage} {
			for _, mode := range readModes {
				got, err := dareRead(t, bytes.NewReader(c.in), c.key, c.seq, bufSize, mode)
				what := fmt.Sprintf("%s, buffer %d, %v", c.name, bufSize, mode)
				if !errors.Is(err, ErrTampered) || errors.Is(err, io.ErrUnexpectedEOF) != c.short {
					t.Fatalf("%s: %v (sio: %v)", what, err, sioErr)
				}
				if !bytes.Equal(got, sioGot) {
					t.Fatalf("%s: %d bytes before the error, sio %d", what, len(got), len(sioGot))
				}
			}
		}
	}
}

// TestReaderHandSealed: streams sealed by hand that sio accepts, the Reader accepts:
// ChaCha20-Poly1305 throughout, a full final package, a stream's first sequence number
// anywhere (wrapping around).
func TestReaderHandSealed(t *testing.T) {
	t.Parallel()
	key, nonce := testKey(15)
	data := testData(2*MaxPayload + 5)
	for _, c := range []struct {
		suite byte
		seq   uint32
		data  []byte
	}{
		{chacha20Poly1305, 0, data},
		{aes256GCM, 1<<32 - 1, data},
		{chacha20Poly1305, 7, data[:2*MaxPayload]},
		{aes256GCM, 0, data[:1]},
	} {
		var stream []byte
		seq := c.seq
		for p := c.data; len(p) > 0; seq++ {
			k := min(len(p), MaxPayload)
			stream = append(stream, sealPkg(t, key, version20, c.suite, nonce, seq, p[:k], k == len(p))...)
			p = p[k:]
		}
		sioGot, sioErr := sioRead(t, bytes.NewReader(stream), key, c.seq)
		got, err := dareRead(t, bytes.NewReader(stream), key, c.seq, MaxPackage, nil)
		if sioErr != nil || err != nil || !bytes.Equal(got, c.data) || !bytes.Equal(sioGot, c.data) {
			t.Fatalf("suite %d, sequence number %d, %d bytes: sio %v, Reader %v", c.suite, c.seq, len(c.data), sioErr, err)
		}
	}
}

// errSource fails after its data.
type errSource struct {
	data []byte
	err  error
}

func (e *errSource) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

// TestReaderSourceError: a read error of the source comes back as it is, once the plaintext
// before it is handed out, and from every later call.
func TestReaderSourceError(t *testing.T) {
	t.Parallel()
	key, nonce := testKey(16)
	data := testData(5 * MaxPayload)
	stream := sioStream(t, data, key, &nonce)
	for _, cut := range []int{0, 10, 2 * MaxPackage, 2*MaxPackage + 1, len(stream) - 1, len(stream)} {
		for _, mode := range readModes {
			got, err := dareRead(t, &errSource{data: stream[:cut], err: errDisk}, key, 0, 4*MaxPackage, mode)
			if cut == len(stream) {
				// sio, too, reads on after the final package, and fails.
				_, sioErr := sioRead(t, &errSource{data: stream, err: errDisk}, key, 0)
				if !errors.Is(sioErr, errDisk) {
					t.Fatalf("sio after the final package: %v", sioErr)
				}
			}
			if want := data[:cut/MaxPackage*MaxPayload]; !errors.Is(err, errDisk) || errors.Is(err, ErrTampered) || !bytes.Equal(got, want) {
				t.Fatalf("cut at %d, %v: %d bytes, %v", cut, mode, len(got), err)
			}
		}
	}
}

// TestNewReaderBadInput: a key that is not 32 bytes and a buffer smaller than MaxPackage are
// refused.
func TestNewReaderBadInput(t *testing.T) {
	t.Parallel()
	key, _ := testKey(17)
	if _, err := NewReader(nil, key[:16], 0, make([]byte, MaxPackage)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	if _, err := NewReader(nil, key, 0, make([]byte, MaxPackage-1)); err == nil {
		t.Error("a short buffer was accepted")
	}
}

// shortWriter takes at most n bytes of each write, without an error.
type shortWriter struct{ n int }

func (s shortWriter) Write(p []byte) (int, error) { return min(len(p), s.n), nil }

// TestReaderWriteToShort: a destination that takes less than it is given is io.ErrShortWrite.
func TestReaderWriteToShort(t *testing.T) {
	t.Parallel()
	key, nonce := testKey(18)
	r, err := NewReader(bytes.NewReader(sioStream(t, testData(100), key, &nonce)), key, 0, make([]byte, MaxPackage))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.WriteTo(shortWriter{10}); n != 10 || err != io.ErrShortWrite {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
}

// expand makes a stream from a compact description, so that a few bytes from the fuzzer can
// be many 64 KiB packages. Each 17 bytes of b are a package's header, as it is, and a control
// byte c; the package's payload (as long as the header says, its bytes c^i) and tag follow
// the header, sealed under key with the package's sequence number counted from 0 unless
// c&1 is set or the header's cipher suite is unknown. If c&2 is set, the stream is cut
// c>>2 64ths of the way into the package. The rest of b, or the packages past
// maxPackages, end the stream as they are.
func expand(b, key []byte) []byte {
	const maxPackages = 6
	gcm, _ := newAEAD(key)
	chacha, _ := chacha20poly1305.New(key)
	aeads := [2]cipher.AEAD{gcm, chacha}
	var out []byte
	for seq := uint32(0); len(b) > HeaderSize && seq < maxPackages; seq++ {
		h, c := b[:HeaderSize], b[HeaderSize]
		b = b[HeaderSize+1:]
		size := int(binary.LittleEndian.Uint16(h[2:4])) + 1
		start := len(out)
		out = append(out, h...)
		for i := range size + TagSize {
			out = append(out, byte(i)^c)
		}
		pkg := out[start:]
		if c&1 == 0 && h[1] <= chacha20Poly1305 {
			var iv [12]byte
			copy(iv[:], h[4:])
			binary.LittleEndian.PutUint32(iv[8:], binary.LittleEndian.Uint32(iv[8:])^seq)
			pt := pkg[HeaderSize : HeaderSize+size]
			aeads[h[1]].Seal(pt[:0], iv[:], pt, h[:4])
		}
		if c&2 != 0 {
			return out[:start+len(pkg)*int(c>>2)/64]
		}
	}
	return append(out, b...)
}

// FuzzReader: any bytes, as they are and expanded into a stream of packages (expand), the
// Reader accepts if and only if sio does, handing out the same plaintext before it ends or
// fails; its failures are ErrTampered. (The raw bytes are kept small, so that the fuzzer can
// minimize what it finds: a stream of 64 KiB packages comes from expand.)
func FuzzReader(f *testing.F) {
	key, nonce := testKey(19)
	header := func(size int, final bool, ctl byte) []byte {
		h := []byte{version20, aes256GCM, 0, 0}
		h = binary.LittleEndian.AppendUint16(h[:2], uint16(size-1))
		h = append(h, nonce[:]...)
		h[4] &^= finalFlag
		if final {
			h[4] |= finalFlag
		}
		return append(h, ctl)
	}
	full := header(MaxPayload, false, 0)
	f.Add(sealPkg(f, key, version20, aes256GCM, nonce, 0, []byte("hello"), true))
	f.Add(bytes.Join([][]byte{full, full, header(300, true, 0)}, nil))  // valid
	f.Add(bytes.Join([][]byte{full, header(MaxPayload, true, 0)}, nil)) // valid
	f.Add(bytes.Join([][]byte{full, full, header(300, true, 2|40<<2)}, nil))
	f.Add(bytes.Join([][]byte{full, header(300, true, 0), []byte{0x20}}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 2*MaxPackage {
			return
		}
		for _, in := range [][]byte{b, expand(b, key)} {
			want, sioErr := sioRead(t, bytes.NewReader(in), key, 0)
			for _, c := range []struct {
				buf  int
				mode readMode
			}{
				{MaxPackage + len(in)%1000, nil},
				{4*MaxPackage + 3, readMode{len(in)%5000 + 1, 7, MaxPayload}},
			} {
				got, err := dareRead(t, bytes.NewReader(in), key, 0, c.buf, c.mode)
				if (err == nil) != (sioErr == nil) || err != nil && !errors.Is(err, ErrTampered) || !bytes.Equal(got, want) {
					t.Fatalf("%d bytes, buffer %d, %v: Reader %d bytes, %v; sio %d bytes, %v", len(in), c.buf, c.mode, len(got), err, len(want), sioErr)
				}
			}
		}
	})
}

// BenchmarkReader decrypts a 16 MiB stream: with a Reader of a 256 KiB buffer written to
// io.Discard (WriteTo), and with sio's DecryptReader copied through a 32 KiB buffer (what
// io.Copy uses) and a 256 KiB one.
func BenchmarkReader(b *testing.B) {
	key, nonce := testKey(20)
	data := testData(16 << 20)
	stream := sioStream(b, data, key, &nonce)
	b.Run("dare", func(b *testing.B) {
		buf := make([]byte, 256<<10)
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			r, err := NewReader(bytes.NewReader(stream), key, 0, buf)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.WriteTo(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, size := range []int{32 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("sio/copy%dk", size>>10), func(b *testing.B) {
			buf := make([]byte, size)
			dst := struct{ io.Writer }{io.Discard} // no ReadFrom: copy through buf
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				dr, err := sio.DecryptReader(bytes.NewReader(stream), sioConfig(key, 0))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(dst, dr, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
