package netcork

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// counted counts the writes that reach a connection, and the bytes.
type counted struct {
	net.Conn
	writes, bytes *atomic.Int64
}

func (c counted) Write(p []byte) (int, error) {
	c.writes.Add(1)
	c.bytes.Add(int64(len(p)))
	return c.Conn.Write(p)
}

type countingListener struct {
	net.Listener
	writes, bytes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return counted{c, &l.writes, &l.bytes}, nil
}

// pair is a corkable Conn over a real loopback TCP connection, its write count, and the peer.
func pair(t *testing.T) (*Conn, *atomic.Int64, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cl := &countingListener{Listener: ln}
	l := NewListener(cl)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := (<-accepted).(*Conn)
	t.Cleanup(func() { c.Close(); peer.Close() })
	return c, &cl.writes, peer
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestCorkGathers: writes while corked reach the connection in writes of up to bufSize
// bytes, in order; writes before and after pass straight through.
func TestCorkGathers(t *testing.T) {
	c, writes, peer := pair(t)
	record := 16<<10 + 100 // seven fit into the buffer
	data := random(1 + 20*record + 3*bufSize/2 + 1)
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peer)
		got <- b
	}()

	p := data
	write := func(n int) {
		t.Helper()
		if k, err := c.Write(p[:n]); k != n || err != nil {
			t.Fatalf("Write: %d, %v", k, err)
		}
		p = p[n:]
	}
	write(1)
	if n := writes.Load(); n != 1 {
		t.Fatalf("an uncorked write made %d writes", n)
	}
	c.Cork()
	for range 20 {
		write(record)
	}
	if n := writes.Load(); n != 1+2 { // two buffers full of 7 records
		t.Fatalf("20 corked records made %d writes, want 2", n-1)
	}
	write(3 * bufSize / 2) // more than a buffer: out at once, after what was gathered
	if n := writes.Load(); n != 1+4 {
		t.Fatalf("a write larger than the buffer made %d writes, want 2", n-3)
	}
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	if err := c.Uncork(); err != nil { // uncorked already: nothing to do
		t.Fatal(err)
	}
	write(1)
	if n := writes.Load(); n != 1+4+1 {
		t.Fatalf("%d writes in all, want 6", n)
	}
	c.Close()
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("the peer read %d bytes, not the %d written in order", len(b), len(data))
	}
}

// TestUncorkWriteError: the error of the write that Uncork makes comes back from Uncork,
// that of a write that finds the buffer full from the write.
func TestUncorkWriteError(t *testing.T) {
	c, _, _ := pair(t)
	c.Cork()
	if _, err := c.Write([]byte("gathered")); err != nil {
		t.Fatal(err)
	}
	c.Conn.Close()
	if err := c.Uncork(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Uncork on a closed connection: %v", err)
	}
	c.Cork()
	if _, err := c.Write(make([]byte, bufSize)); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Write([]byte("x")); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a write past a full buffer on a closed connection: %d, %v", n, err)
	}
}

// TestConcurrentWrites: another goroutine's writes while corked are serialized with the
// corked ones, whole (run with -race).
func TestConcurrentWrites(t *testing.T) {
	c, _, peer := pair(t)
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peer)
		got <- b
	}()
	c.Cork()
	var wg sync.WaitGroup
	for _, b := range []byte{'a', 'b'} {
		wg.Go(func() {
			for range 100 {
				if _, err := c.Write(bytes.Repeat([]byte{b}, 1000)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	b := <-got
	if len(b) != 200*1000 {
		t.Fatalf("the peer read %d bytes, want %d", len(b), 200*1000)
	}
	for i := 0; i < len(b); i += 1000 {
		if w := b[i : i+1000]; !bytes.Equal(w, bytes.Repeat(w[:1], 1000)) {
			t.Fatalf("writes interleaved at byte %d", i)
		}
	}
}

// TestHTTPS: under an HTTPS server, a handler finds its connection with From and a corked
// 4 MiB body leaves in about a seventh of the writes it takes uncorked.
func TestHTTPS(t *testing.T) {
	body := random(4 << 20)
	for _, cork := range []bool{false, true} {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cc := From(r.Context())
			if cc == nil {
				t.Error("no *Conn in the request's context")
				return
			}
			if cork {
				cc.Cork()
			}
			_, err := w.Write(body)
			if uerr := cc.Uncork(); err == nil {
				err = uerr
			}
			if err != nil {
				t.Error(err)
			}
		}))
		cl := &countingListener{Listener: srv.Listener}
		srv.Listener = NewListener(cl)
		srv.Config.ConnContext = ConnContext
		srv.StartTLS()
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if err != nil || !bytes.Equal(b, body) {
			t.Fatalf("cork %v: %d bytes, %v", cork, len(b), err)
		}
		records := int64(len(body) / (16 << 10))
		n := cl.writes.Load()
		switch {
		case !cork && n < records:
			t.Fatalf("uncorked: %d writes for %d records", n, records)
		case cork && n > records/7+10: // the handshake's writes, the headers, the body
			t.Fatalf("corked: %d writes for %d records", n, records)
		}
		t.Logf("cork %v: %d writes for a body of %d TLS records", cork, n, records)
	}
}
