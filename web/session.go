package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// sessionCookie is the name of the cookie that carries the session token.
const sessionCookie = "kmsbox_session"

// sessions are the logins of one Server, kept in memory only: a restart logs everyone
// out. They are keyed by the SHA-256 of the token, so the map never holds a token a
// heap dump could replay and a lookup's timing says nothing about the token.
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	expires map[[sha256.Size]byte]time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, expires: make(map[[sha256.Size]byte]time.Time)}
}

// create starts a session and returns its token: 32 bytes from crypto/rand, base64url.
// Expired sessions are dropped on the way, so the map stays bounded without a sweeper.
func (ss *sessions) create() string {
	var raw [32]byte
	rand.Read(raw[:]) // never fails; crashes the program if it cannot
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := ss.now()

	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, exp := range ss.expires {
		if !now.Before(exp) {
			delete(ss.expires, id)
		}
	}
	ss.expires[sha256.Sum256([]byte(token))] = now.Add(ss.ttl)
	return token
}

// valid reports whether token is a live session; an expired one is dropped.
func (ss *sessions) valid(token string) bool {
	if token == "" {
		return false
	}
	id := sha256.Sum256([]byte(token))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	exp, ok := ss.expires[id]
	if !ok {
		return false
	}
	if !ss.now().Before(exp) {
		delete(ss.expires, id)
		return false
	}
	return true
}

// remove ends the session of token, if any.
func (ss *sessions) remove(token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.expires, sha256.Sum256([]byte(token)))
}

// clear ends every session.
func (ss *sessions) clear() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	clear(ss.expires)
}

// sessionToken is the token of r's session cookie, "" without one.
func sessionToken(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// setSessionCookie hands the browser its token. The cookie is a session cookie that
// also expires with the session; Secure, because the console is served over TLS only.
func setSessionCookie(w http.ResponseWriter, token string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   int(ttl / time.Second),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
}

// clearSessionCookie tells the browser to drop its token.
func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
}
