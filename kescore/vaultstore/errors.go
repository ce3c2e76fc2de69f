package vaultstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/kmsbox/kmsbox/kescore"
)

// ErrPermissionDenied is wrapped by errors of requests that Vault refused
// with 403 while the store's token was valid: the AppRole's policy lacks a
// capability on the key path.
var ErrPermissionDenied = errors.New("permission denied by Vault policy")

// opLogin is the operation name of the AppRole login in errors.
const opLogin = "AppRole login at"

// capability names the Vault policy capability an operation needs.
var capability = map[string]string{
	"create": "create",
	"read":   "read",
	"delete": "delete",
	"list":   "list",
	opLogin:  "update",
}

// mapError turns an error of the Vault client into the store's errors. It
// returns nil for nil.
func (s *Store) mapError(ctx context.Context, op, loc string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("vaultstore: %s %s: %w", op, loc, ctx.Err())
	}
	var re *vaultapi.ResponseError
	if !errors.As(err, &re) {
		if errors.Is(err, kescore.ErrKeyExists) || errors.Is(err, kescore.ErrKeyNotFound) ||
			errors.Is(err, kescore.ErrStoreUnavailable) || errors.Is(err, kescore.ErrStoreUnreachable) ||
			errors.Is(err, ErrPermissionDenied) {
			return err
		}
		if isNetwork(err) {
			return fmt.Errorf("vaultstore: %s %s: Vault at %s not reachable: %v: %w", op, loc, s.cfg.Endpoint, err, kescore.ErrStoreUnreachable)
		}
		return fmt.Errorf("vaultstore: %s %s: %w", op, loc, err)
	}
	ae := &answerError{msg: fmt.Sprintf("vaultstore: %s %s: Vault answered %d %s", op, loc, re.StatusCode, strings.Join(re.Errors, "; ")), answer: re}
	switch {
	case re.StatusCode == http.StatusForbidden:
		ae.kind = ErrPermissionDenied
		if c, ok := capability[op]; ok && op != opLogin {
			ae.msg = fmt.Sprintf("vaultstore: Vault refused to %s %q (403): the policy of the AppRole must grant %q on %q",
				op, loc, c, s.policyPath())
		}
	case re.StatusCode == http.StatusServiceUnavailable:
		ae.msg = fmt.Sprintf("vaultstore: %s %s: Vault is sealed or unavailable (503)", op, loc)
		ae.kind = kescore.ErrStoreUnavailable
	case re.StatusCode >= 500:
		ae.kind = kescore.ErrStoreUnavailable
	}
	return ae
}

// answerError is an error answer of Vault: a short message, the api's
// ResponseError and, if any, the store sentinel it stands for.
type answerError struct {
	msg    string
	answer *vaultapi.ResponseError
	kind   error
}

func (e *answerError) Error() string {
	if e.kind != nil {
		return e.msg + ": " + e.kind.Error()
	}
	return e.msg
}

func (e *answerError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.answer}
	}
	return []error{e.answer, e.kind}
}

// policyPath is the path pattern the AppRole's policy must cover.
func (s *Store) policyPath() string {
	p := s.location("data", "*")
	if s.cfg.Version == KVv2 {
		return s.cfg.Engine + "/(data|metadata)/" + p[len(s.cfg.Engine)+len("/data/"):]
	}
	return p
}

// isNetwork reports whether err came from the transport (connection, TLS,
// timeout) rather than from a Vault answer.
func isNetwork(err error) bool {
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne)
}

// isStatus reports whether err is a Vault answer with the given status.
func isStatus(err error, status int) bool {
	var re *vaultapi.ResponseError
	return errors.As(err, &re) && re.StatusCode == status
}
