package kescore

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Wire-only errors: conditions that exist only at the HTTP layer.
var (
	errPolicyNotFound   = errors.New("policy does not exist")
	errIdentityNotFound = errors.New("identity does not exist")
	errNoHMAC           = errors.New("key does not support HMAC")
	errTLSRequired      = errors.New("insecure connection: TLS is required")
	errNoClientCert     = errors.New("tls: client certificate is required")
	errManyClientCerts  = errors.New("tls: received more than one client certificate")
	errCertNotVerified  = errors.New("tls: failed to verify client certificate")
	errInvalidBody      = errors.New("invalid request body")
)

// errorTable maps every sentinel to KES's status and exact message. Clients
// (kms-go and MinIO) compare status AND message, so these strings are API.
var errorTable = []struct {
	err    error
	status int
	msg    string
}{
	{ErrKeyExists, http.StatusBadRequest, "key already exists"},
	{ErrKeyNotFound, http.StatusNotFound, "key does not exist"},
	{ErrNotAllowed, http.StatusForbidden, "not authorized: insufficient permissions"},
	{ErrDecrypt, http.StatusBadRequest, "decryption failed: ciphertext is not authentic"},
	{errPolicyNotFound, http.StatusNotFound, "policy does not exist"},
	{errIdentityNotFound, http.StatusNotFound, "identity does not exist"},
	{errNoHMAC, http.StatusConflict, "key does not support HMAC"},
	{errTLSRequired, http.StatusBadRequest, "insecure connection: TLS is required"},
	{errNoClientCert, http.StatusBadRequest, "tls: client certificate is required"},
	{errManyClientCerts, http.StatusBadRequest, "tls: received more than one client certificate"},
	{errCertNotVerified, http.StatusBadRequest, "tls: failed to verify client certificate"},
	{errInvalidBody, http.StatusBadRequest, "invalid request body"},
}

// apiError is a formatted wire error (status and exact message), used for
// messages that embed a request value and for per-operation store failures.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func failf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// Per-operation key store failures, as KES reports them.
var (
	failCreate   = &apiError{http.StatusBadGateway, "failed to create key"}
	failRead     = &apiError{http.StatusBadGateway, "failed to read key"}
	failDelete   = &apiError{http.StatusBadGateway, "failed to delete key"}
	failList     = &apiError{http.StatusBadGateway, "failed to list keys"}
	failInternal = &apiError{http.StatusInternalServerError, "internal server error"}
)

// wireError resolves err to a status and message: an *apiError as is, a
// sentinel of errorTable, else fallback (nil fallback = 500).
func wireError(err error, fallback *apiError) (int, string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ae.msg
	}
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return e.status, e.msg
		}
	}
	if fallback == nil {
		fallback = failInternal
	}
	return fallback.status, fallback.msg
}

// writeError sends err as {"message":...}. Errors that fall through to the
// fallback are logged, since the client only sees the generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, fallback *apiError) {
	status, msg := wireError(err, fallback)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), msg, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, struct {
		Message string `json:"message"`
	}{msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
