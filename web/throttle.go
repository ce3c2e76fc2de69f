package web

import (
	"math"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login throttling: each client may try loginBurst logins at once, then one more every
// loginRefill; a successful login forgets the client's attempts.
const (
	loginBurst  = 10
	loginRefill = 10 * time.Second
	// maxLoginClients bounds the clients tracked at once. Past it, clients whose allowance is
	// full again are dropped; if none is, new clients share one allowance.
	maxLoginClients = 4096
)

// loginThrottle is a token bucket per client: every login attempt takes a token before the
// credentials are compared, so parallel attempts cannot outrun it.
type loginThrottle struct {
	now func() time.Time

	mu      sync.Mutex
	clients map[netip.Prefix]*rate.Limiter
}

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{now: now, clients: make(map[netip.Prefix]*rate.Limiter)}
}

// allow takes a login attempt of client; when none is left it returns false and how long
// the client has to wait for the next one.
func (lt *loginThrottle) allow(client netip.Prefix) (bool, time.Duration) {
	now := lt.now()
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lim := lt.clients[client]
	if lim == nil {
		if len(lt.clients) >= maxLoginClients {
			for c, l := range lt.clients {
				if l.TokensAt(now) >= loginBurst {
					delete(lt.clients, c)
				}
			}
			if len(lt.clients) >= maxLoginClients {
				client = netip.Prefix{}
			}
		}
		if lim = lt.clients[client]; lim == nil {
			lim = rate.NewLimiter(rate.Every(loginRefill), loginBurst)
			lt.clients[client] = lim
		}
	}
	if lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - lim.TokensAt(now)
	return false, time.Duration(math.Ceil(missing * float64(loginRefill)))
}

// forget drops client's attempts after a successful login.
func (lt *loginThrottle) forget(client netip.Prefix) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	delete(lt.clients, client)
}

// loginClient is who a login attempt counts against: the remote IPv4 address, or the /64
// of an IPv6 one (one host commonly holds a whole /64). An address that does not parse
// counts against the zero prefix, shared by all such requests.
func loginClient(r *http.Request) netip.Prefix {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Prefix{}
	}
	addr := ap.Addr().Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}

// retryAfter renders d as whole seconds, rounded up, for a Retry-After header.
func retryAfter(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
