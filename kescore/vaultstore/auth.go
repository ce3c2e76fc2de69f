package vaultstore

import (
	"context"
	"errors"
	"net/http"
	"path"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// renewAttempts is how often renew-self is tried before logging in again.
const renewAttempts = 3

// hooks let tests observe and drive the background goroutines.
type hooks struct {
	// after replaces time.After for the renewal and login-retry waits.
	after func(d time.Duration) <-chan time.Time
	// event is called after each login, renewal and health poll.
	event func(event)
}

// event is one step of the background work.
type event struct {
	kind string        // "login", "login-failed", "renewed", "renew-failed", "health"
	ttl  time.Duration // token TTL after login/renewal
	err  error
}

func (s *Store) emit(e event) {
	if s.cfg.hooks.event != nil {
		s.cfg.hooks.event(e)
	}
}

func (s *Store) after(d time.Duration) <-chan time.Time {
	if s.cfg.hooks.after != nil {
		return s.cfg.hooks.after(d)
	}
	return time.After(d)
}

// tokenAuth is what a login or renewal tells about the token.
type tokenAuth struct {
	ttl       time.Duration
	renewable bool
}

// login authenticates with the AppRole and installs the new token.
func (s *Store) login(ctx context.Context) (tokenAuth, error) {
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	return s.loginLocked(ctx)
}

// loginIfToken logs in again unless the token has changed from tok since a
// request found tok invalid; concurrent requests that all found the same
// token revoked thus cause a single login.
func (s *Store) loginIfToken(ctx context.Context, tok string) error {
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	if s.client.Token() != tok {
		return nil
	}
	_, err := s.loginLocked(ctx)
	return err
}

// loginLocked is login with loginMu held.
func (s *Store) loginLocked(ctx context.Context) (tokenAuth, error) {
	loc := path.Join("auth", s.cfg.AppRole.Engine, "login")
	secret, err := s.client.Logical().WriteWithContext(ctx, loc, map[string]any{
		"role_id":   s.cfg.AppRole.ID,
		"secret_id": s.cfg.AppRole.Secret,
	})
	if err == nil && (secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "") {
		err = errors.New("the login answer carries no token")
	}
	if err != nil {
		err = s.mapError(ctx, opLogin, loc, err)
		s.log.Warn("AppRole login failed", "error", err)
		s.emit(event{kind: "login-failed", err: err})
		return tokenAuth{}, err
	}
	s.client.SetToken(secret.Auth.ClientToken)
	s.health.SetToken(secret.Auth.ClientToken)
	a := tokenAuth{ttl: time.Duration(secret.Auth.LeaseDuration) * time.Second, renewable: secret.Auth.Renewable}
	s.auth = a
	s.log.Info("logged in to Vault with AppRole", "ttl", a.ttl, "renewable", a.renewable)
	s.emit(event{kind: "login", ttl: a.ttl})
	return a, nil
}

// renew renews the current token through renew-self, up to renewAttempts
// times; a 4xx answer (revoked, not renewable) ends the attempts at once.
func (s *Store) renew(ctx context.Context) (tokenAuth, error) {
	var err error
	for attempt := range renewAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return tokenAuth{}, ctx.Err()
			case <-s.after(time.Second):
			}
		}
		var secret *vaultapi.Secret
		secret, err = s.client.Auth().Token().RenewSelfWithContext(ctx, 0)
		if err == nil {
			if secret == nil || secret.Auth == nil {
				return tokenAuth{}, errors.New("vaultstore: renew-self answered without auth")
			}
			a := tokenAuth{ttl: time.Duration(secret.Auth.LeaseDuration) * time.Second, renewable: secret.Auth.Renewable}
			if a.ttl <= 0 || !a.renewable {
				return tokenAuth{}, errors.New("vaultstore: token is not renewable")
			}
			return a, nil
		}
		var re *vaultapi.ResponseError
		if errors.As(err, &re) && re.StatusCode >= 400 && re.StatusCode < 500 {
			break
		}
	}
	return tokenAuth{}, s.mapError(ctx, "renew", "auth/token/renew-self", err)
}

// renewLoop keeps the token alive: renew at 80% of its TTL, log in again
// when renewal fails or a request found the token invalid.
func (s *Store) renewLoop(ctx context.Context, a tokenAuth) {
	defer s.wg.Done()
	for {
		var due <-chan time.Time // nil: the token does not expire
		if a.ttl > 0 {
			due = s.after(a.ttl * 8 / 10)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.relogin:
			// withToken already logged in again; restart the schedule.
			a = s.currentAuth()
			continue
		case <-due:
		}
		if a.renewable {
			na, err := s.renew(ctx)
			if err == nil {
				a = na
				s.log.Debug("renewed Vault token", "ttl", a.ttl)
				s.emit(event{kind: "renewed", ttl: a.ttl})
				continue
			}
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("Vault token renewal failed, logging in again", "error", err)
			s.emit(event{kind: "renew-failed", err: err})
		}
		for {
			na, err := s.login(ctx)
			if err == nil {
				a = na
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-s.after(s.cfg.AppRole.Retry):
			}
		}
	}
}

// currentAuth returns what the last login said about the token.
func (s *Store) currentAuth() tokenAuth {
	s.loginMu.Lock()
	defer s.loginMu.Unlock()
	return s.auth
}

// pingLoop polls sys/health every StatusPing and logs when Vault's state
// changes (sealed, unreachable, healthy again), until ctx ends.
func (s *Store) pingLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.StatusPing)
	defer t.Stop()
	var last error
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := s.Status(ctx)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && (last == nil || err.Error() != last.Error()):
			s.log.Warn("Vault health check failed", "error", err)
		case err == nil && last != nil:
			s.log.Info("Vault is healthy again")
		}
		last = err
		s.emit(event{kind: "health", err: err})
	}
}

// withToken runs the request fn. If Vault refuses it with 403 and the token
// itself turns out to be invalid (lookup-self refused too), the store logs
// in again and retries fn once; otherwise the 403 becomes a policy error.
//
// Tokens are unique, so a token equal before fn and after lookup-self was
// the one both requests used; if it changed in between, another request
// logged in already and fn is simply retried.
func (s *Store) withToken(ctx context.Context, op, loc string, fn func() error) error {
	tok := s.client.Token()
	err := fn()
	if err == nil || !isStatus(err, http.StatusForbidden) {
		return s.mapError(ctx, op, loc, err)
	}
	_, lerr := s.client.Auth().Token().LookupSelfWithContext(ctx)
	if s.client.Token() == tok {
		if !isStatus(lerr, http.StatusForbidden) {
			return s.mapError(ctx, op, loc, err) // token fine: the policy denies
		}
		if lerr := s.loginIfToken(ctx, tok); lerr != nil {
			return lerr
		}
		select { // let renewLoop pick up the new token's schedule
		case s.relogin <- struct{}{}:
		default:
		}
	}
	return s.mapError(ctx, op, loc, fn())
}
