package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Bounds of the aws-chunked decoder. Chunk data is streamed through, never buffered,
// so MaxChunkSize only rejects absurd size lines. It is S3's largest single PUT (5 GiB):
// minio-go sends 64 KiB chunks and botocore 1 MiB, but aws-sdk-go-v2 sends a body of known
// length as ONE chunk with its trailer.
const (
	// MaxChunkSize is the largest aws-chunked chunk accepted (5 GiB).
	MaxChunkSize = 5 << 30
	// maxChunkLine bounds a chunk size line or a trailer line, CRLF included.
	maxChunkLine = 4096
	// maxTrailers bounds the number of trailing headers.
	maxTrailers = 16
	// readBufSize is the decoder's read buffer.
	readBufSize = 64 << 10
)

type chunkState int

const (
	stateSize chunkState = iota // expecting a chunk size line
	stateData                   // inside chunk data
	stateDone                   // trailer consumed, io.EOF
)

// chunkSigner holds what verifying chunk signatures needs. A nil *chunkSigner means
// unsigned chunks (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
type chunkSigner struct {
	key     []byte
	amzDate string
	scope   string
	prev    string // hex signature of the previous chunk, the seed signature at first
}

// sign returns the hex signature of a chunk whose data hashes to sum, and advances the chain.
func (s *chunkSigner) next(sum []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + s.amzDate + "\n" + s.scope + "\n" + s.prev + "\n" +
		emptySHA256 + "\n" + hex.EncodeToString(sum)
	s.prev = hex.EncodeToString(hmacSHA256(s.key, sts))
	return s.prev
}

// trailerSignature returns the signature of the canonical trailer block.
func (s *chunkSigner) trailerSignature(canonical string) string {
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + s.amzDate + "\n" + s.scope + "\n" + s.prev + "\n" + sha256Hex(canonical)
	return hex.EncodeToString(hmacSHA256(s.key, sts))
}

// chunkedReader decodes an aws-chunked body: "<hex size>[;chunk-signature=<sig>]\r\n
// <data>\r\n" repeated, a zero-size chunk, then either "\r\n" or (trailer modes) trailing
// header lines and an empty line. Data is passed through as it arrives; a chunk's
// signature is checked as soon as its last byte has been read, and Read does not
// return io.EOF before every signature, the trailer and the decoded length checked out.
// So a consumer that commits only after a clean io.EOF never commits unverified data.
type chunkedReader struct {
	src      io.ReadCloser
	br       *bufio.Reader
	signer   *chunkSigner // nil: unsigned chunks
	trailers bool         // a trailer follows the last chunk
	declared []string     // lower-case names from X-Amz-Trailer
	trailer  http.Header  // filled at the end
	want     int64        // X-Amz-Decoded-Content-Length, -1 unknown

	state     chunkState
	remaining int64 // bytes left in the current chunk
	total     int64
	sum       hash.Hash // SHA-256 of the current chunk (signed mode)
	chunkSig  []byte    // the current chunk's claimed signature (binary)
	err       error     // sticky
}

func newChunkedReader(body io.ReadCloser, signer *chunkSigner, trailers bool, declared []string, want int64, trailer http.Header) *chunkedReader {
	c := &chunkedReader{
		src:      body,
		br:       bufio.NewReaderSize(body, readBufSize),
		signer:   signer,
		trailers: trailers,
		declared: declared,
		trailer:  trailer,
		want:     want,
	}
	if signer != nil {
		c.sum = sha256.New()
	}
	return c
}

func (c *chunkedReader) Close() error { return c.src.Close() }

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for c.state == stateSize {
		if err := c.readSizeLine(); err != nil {
			c.err = err
			return 0, err
		}
	}
	if c.state == stateDone {
		c.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.br.Read(p)
	if n > 0 {
		if c.sum != nil {
			c.sum.Write(p[:n])
		}
		c.remaining -= int64(n)
		c.total += int64(n)
	}
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("%w: body ended inside a chunk", ErrIncompleteBody)
		}
		c.err = mapEOF(err)
		return n, c.err
	}
	if c.remaining == 0 {
		// Finish the chunk right away so that a bad signature surfaces with its data.
		if err := c.endChunk(); err != nil {
			c.err = err
			return n, err
		}
	}
	return n, nil
}

// endChunk consumes the CRLF after a chunk's data and checks its signature.
func (c *chunkedReader) endChunk() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.br, crlf[:]); err != nil {
		return fmt.Errorf("%w: body ended after chunk data", ErrIncompleteBody)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return fmt.Errorf("%w: chunk data not followed by CRLF", ErrMalformedChunk)
	}
	if err := c.checkChunkSignature(); err != nil {
		return err
	}
	c.state = stateSize
	return nil
}

func (c *chunkedReader) checkChunkSignature() error {
	if c.signer == nil {
		return nil
	}
	want, _ := hex.DecodeString(c.signer.next(c.sum.Sum(nil)))
	c.sum.Reset()
	if !hmac.Equal(want, c.chunkSig) {
		return fmt.Errorf("%w: chunk signature", ErrSignatureDoesNotMatch)
	}
	return nil
}

// readLine returns one line without its line ending. strictCRLF requires "\r\n";
// otherwise a bare "\n" ends a line too (seen in trailer examples). atEOF reports that
// the body ended cleanly before any byte of a line.
func (c *chunkedReader) readLine(strictCRLF bool) (line []byte, atEOF bool, err error) {
	b, err := c.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF && len(b) == 0 {
			return nil, true, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, false, fmt.Errorf("%w: line too long", ErrMalformedChunk)
		}
		if err == io.EOF {
			return nil, false, fmt.Errorf("%w: body ended inside a line", ErrIncompleteBody)
		}
		return nil, false, mapEOF(err)
	}
	if len(b) > maxChunkLine {
		return nil, false, fmt.Errorf("%w: line too long", ErrMalformedChunk)
	}
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	} else if strictCRLF {
		return nil, false, fmt.Errorf("%w: line not terminated by CRLF", ErrMalformedChunk)
	}
	return b, false, nil
}

// parseChunkSize parses "<hex>[;ext...]" and returns the size and chunk-signature value.
func parseChunkSize(line []byte) (size int64, sig []byte, err error) {
	sizeHex, ext, _ := bytes.Cut(line, []byte(";"))
	sizeHex = bytes.TrimRight(sizeHex, " \t")
	if len(sizeHex) == 0 || len(sizeHex) > 9 {
		return 0, nil, fmt.Errorf("%w: bad chunk size %q", ErrMalformedChunk, truncate(sizeHex))
	}
	n, perr := strconv.ParseUint(string(sizeHex), 16, 64)
	if perr != nil {
		return 0, nil, fmt.Errorf("%w: bad chunk size %q", ErrMalformedChunk, truncate(sizeHex))
	}
	if n > MaxChunkSize {
		return 0, nil, fmt.Errorf("%w: chunk size %d over the %d limit", ErrMalformedChunk, n, MaxChunkSize)
	}
	for len(ext) > 0 {
		var e []byte
		e, ext, _ = bytes.Cut(ext, []byte(";"))
		k, v, _ := bytes.Cut(bytes.TrimSpace(e), []byte("="))
		if string(k) != "chunk-signature" {
			continue
		}
		if sig != nil {
			return 0, nil, fmt.Errorf("%w: duplicate chunk-signature", ErrMalformedChunk)
		}
		if len(v) != signatureHexChars {
			return 0, nil, fmt.Errorf("%w: bad chunk-signature", ErrMalformedChunk)
		}
		sig = make([]byte, sha256.Size)
		if _, herr := hex.Decode(sig, v); herr != nil {
			return 0, nil, fmt.Errorf("%w: bad chunk-signature", ErrMalformedChunk)
		}
	}
	return int64(n), sig, nil
}

func truncate(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "..."
	}
	return string(b)
}

// readSizeLine reads the next chunk header; on the final chunk it also reads the trailer.
func (c *chunkedReader) readSizeLine() error {
	line, atEOF, err := c.readLine(true)
	if err != nil {
		return err
	}
	if atEOF {
		return fmt.Errorf("%w: body ended before the final chunk", ErrIncompleteBody)
	}
	size, sig, err := parseChunkSize(line)
	if err != nil {
		return err
	}
	if c.signer != nil && sig == nil {
		return fmt.Errorf("%w: chunk without chunk-signature", ErrMalformedChunk)
	}
	if c.want >= 0 && c.total+size > c.want {
		return fmt.Errorf("%w: more data than X-Amz-Decoded-Content-Length", ErrMalformedChunk)
	}
	c.chunkSig = sig
	if size > 0 {
		c.remaining = size
		c.state = stateData
		return nil
	}
	// Final chunk.
	if err := c.checkChunkSignature(); err != nil {
		return err
	}
	if c.want >= 0 && c.total != c.want {
		return fmt.Errorf("%w: %d of %d decoded bytes", ErrIncompleteBody, c.total, c.want)
	}
	if c.trailers {
		if err := c.readTrailer(); err != nil {
			return err
		}
	} else if err := c.drain(); err != nil {
		return err
	}
	c.state = stateDone
	return nil
}

// readTrailer reads the trailing headers up to the end of the body. Encoders differ in
// line endings: AWS's documented example and minio-go end each "name:value" with "\n"
// followed by "\r\n", the AWS SDKs with "\r\n", and all end with an empty line; so
// empty lines are skipped (a bounded number) and the body's end closes the trailer.
// The trailers are checked against X-Amz-Trailer and, for signed payloads,
// x-amz-trailer-signature.
func (c *chunkedReader) readTrailer() error {
	var canonical strings.Builder
	var sig []byte
	got := map[string]bool{}
	lines, empty := 0, 0
	for {
		line, atEOF, err := c.readLine(false)
		if err != nil {
			return err
		}
		if atEOF {
			break
		}
		if len(line) == 0 {
			if empty++; empty > 8 {
				return fmt.Errorf("%w: too many empty trailer lines", ErrMalformedChunk)
			}
			continue
		}
		if lines++; lines > maxTrailers+1 {
			return fmt.Errorf("%w: too many trailer lines", ErrMalformedChunk)
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return fmt.Errorf("%w: malformed trailer line", ErrMalformedChunk)
		}
		name := strings.ToLower(strings.TrimSpace(string(k)))
		value := trimAll(string(v))
		if name == "x-amz-trailer-signature" {
			if c.signer == nil || sig != nil {
				return fmt.Errorf("%w: unexpected x-amz-trailer-signature", ErrMalformedChunk)
			}
			if sig, err = parseSignature(value); err != nil {
				return fmt.Errorf("%w: %v", ErrMalformedChunk, err)
			}
			continue
		}
		if sig != nil {
			return fmt.Errorf("%w: trailer after x-amz-trailer-signature", ErrMalformedChunk)
		}
		if !c.isDeclared(name) {
			return fmt.Errorf("%w: trailer %q not declared in X-Amz-Trailer", ErrMalformedChunk, name)
		}
		if got[name] {
			return fmt.Errorf("%w: duplicate trailer %q", ErrMalformedChunk, name)
		}
		got[name] = true
		canonical.WriteString(name + ":" + value + "\n")
		c.trailer.Set(name, value)
	}
	for _, d := range c.declared {
		if !got[d] {
			return fmt.Errorf("%w: trailer %q missing", ErrIncompleteBody, d)
		}
	}
	if c.signer != nil {
		if sig == nil {
			return fmt.Errorf("%w: x-amz-trailer-signature missing", ErrSignatureDoesNotMatch)
		}
		want, _ := hex.DecodeString(c.signer.trailerSignature(canonical.String()))
		if !hmac.Equal(want, sig) {
			for k := range c.trailer {
				delete(c.trailer, k)
			}
			return fmt.Errorf("%w: trailer signature", ErrSignatureDoesNotMatch)
		}
	}
	return nil
}

func (c *chunkedReader) isDeclared(name string) bool {
	for _, d := range c.declared {
		if d == name {
			return true
		}
	}
	return false
}

// drain reads to the end of the body after the final chunk, accepting only its closing
// CRLF (and a few stray line endings).
func (c *chunkedReader) drain() error {
	var buf [64]byte
	for read := 0; ; {
		n, err := c.br.Read(buf[:])
		for _, b := range buf[:n] {
			if b != '\r' && b != '\n' {
				return fmt.Errorf("%w: data after the end of the aws-chunked body", ErrMalformedChunk)
			}
		}
		if read += n; read > 2*len(buf) {
			return fmt.Errorf("%w: data after the end of the aws-chunked body", ErrMalformedChunk)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return mapEOF(err)
		}
	}
}

// mapEOF turns an unexpected end of the underlying body into ErrIncompleteBody.
func mapEOF(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %v", ErrIncompleteBody, err)
	}
	return err
}

// parseTrailerNames splits X-Amz-Trailer into lower-case names.
func parseTrailerNames(h http.Header) []string {
	var out []string
	for _, v := range h.Values("X-Amz-Trailer") {
		for _, n := range strings.Split(v, ",") {
			if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}
