package appliance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/kmsbox/kmsbox/internal/netcork"
)

// service is one HTTPS server of the appliance: a handler on a bound listener.
type service struct {
	name   string // "vault", "kes", "s3": used in logs
	scheme string // URL scheme printed in the start-up log line
	ln     net.Listener
	srv    *http.Server
}

// listen binds addr for the named service. A port in use becomes one line that names the flag
// to change, which main prints as is.
func listen(addr, what, flag string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("cannot listen on %s for the %s: address already in use (choose another with %s)", addr, what, flag)
	}
	return nil, fmt.Errorf("cannot listen on %s for the %s (%s): %w", addr, what, flag, err)
}

// readHeaderTimeout is how long a client may take to send a request's headers, over HTTP/1.1
// and HTTP/2 alike.
const readHeaderTimeout = 10 * time.Second

// newHTTPServer returns an http.Server for h with the timeouts every kmsbox listener uses.
// Write and read timeouts of whole requests are left to the handlers: object bodies may take
// long, and KES log streams never end.
func newHTTPServer(h http.Handler, tlsConfig *tls.Config, log *slog.Logger) *http.Server {
	return newHTTPServerTimeout(h, tlsConfig, log, readHeaderTimeout)
}

// newHTTPServerTimeout is newHTTPServer with the header timeout as a parameter, for tests.
//
// ReadHeaderTimeout covers HTTP/1.1 only: net/http's HTTP/2 server reads a HEADERS frame and
// its CONTINUATION frames as one frame, under no deadline, so a client that never ends its
// headers would hold the connection until IdleTimeout (2 minutes). The HTTP/2 health check
// bounds that too: after headerTimeout/2 without a complete frame the server sends a PING and
// closes the connection if no answer comes within another headerTimeout/2. An answer cannot
// help a stalled client either: a PING where a CONTINUATION must follow is a protocol error
// that closes the connection at once.
func newHTTPServerTimeout(h http.Handler, tlsConfig *tls.Config, log *slog.Logger, headerTimeout time.Duration) *http.Server {
	fresh := &freshConns{conns: map[net.Conn]struct{}{}}
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig.Clone(), // ServeTLS adds its ALPN protocols to it
		ReadHeaderTimeout: headerTimeout,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: headerTimeout / 2,
			PingTimeout:     headerTimeout / 2,
		},
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 1 << 20,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnState:      fresh.track,
		ConnContext:    netcork.ConnContext, // for handlers that cork (s3lite's object bodies)
	}
	srv.RegisterOnShutdown(fresh.closeAll)
	return srv
}

// freshConns tracks connections that have not sent a request yet. http.Server.Shutdown
// waits up to 5 seconds for those (a client's pooled spare connection, a handshake that never
// finished) before it counts them idle, which would eat the whole shutdown budget; on
// shutdown they are closed at once instead. A connection that is serving a request is not
// fresh and finishes normally.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (f *freshConns) track(c net.Conn, st http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st == http.StateNew {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close()
		delete(f.conns, c)
	}
}

// serveAll serves every service until ctx is done, then shuts them down in reverse order,
// each within the time left of timeout, letting in-flight requests finish. It returns the first
// serve error (a listener that failed on its own) or the shutdown errors.
func serveAll(ctx context.Context, services []*service, timeout time.Duration, log *slog.Logger) error {
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		serveErr error
		failed   = make(chan struct{})
	)
	for _, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.srv.ServeTLS(s.ln, "", "")
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				errOnce.Do(func() {
					serveErr = fmt.Errorf("%s server: %w", s.name, err)
					close(failed)
				})
			}
		}()
		log.Info("listening", "server", s.name, "url", s.scheme+"://"+displayAddr(s.ln.Addr()))
	}

	select {
	case <-ctx.Done():
	case <-failed:
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var errs []error
	for i := len(services) - 1; i >= 0; i-- {
		s := services[i]
		if err := s.srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("%s server: shutdown: %w", s.name, err))
			s.srv.Close()
		}
		log.Debug("stopped", "server", s.name)
	}
	wg.Wait()
	if serveErr != nil {
		return serveErr
	}
	return errors.Join(errs...)
}

// displayAddr renders a listener address the way a client on this machine would dial it:
// an unspecified host (0.0.0.0, ::) becomes 127.0.0.1.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// dialAddr turns a listen address into one a local client can dial: an empty or
// unspecified host becomes 127.0.0.1.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
