package embeddedvault

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hashicorp/vault/sdk/logical"
)

// Sentinel errors. Every error the server returns over HTTP maps to its
// wire form through errorTable.
var (
	// ErrSealed: the store is sealed (HTTP 503 "Vault is sealed").
	ErrSealed = errors.New("embeddedvault: vault is sealed")
	// ErrNotFound: no entry at the path (HTTP 404 with empty errors).
	ErrNotFound = errors.New("embeddedvault: not found")
	// ErrExists: KVCreate found an entry already at the path.
	ErrExists = errors.New("embeddedvault: entry already exists")
	// ErrNotInitialized: sys/init has not run yet.
	ErrNotInitialized = errors.New("embeddedvault: vault is not initialized")
	// ErrAlreadyInitialized: sys/init ran before.
	ErrAlreadyInitialized = errors.New("embeddedvault: vault is already initialized")
	// ErrInvalidKey: the combined shares do not decrypt the keyring.
	ErrInvalidKey = errors.New("embeddedvault: unseal failed, invalid key")
	// ErrPermissionDenied: missing, unknown or expired token, or an ACL
	// denies the operation (HTTP 403).
	ErrPermissionDenied = errors.New("embeddedvault: permission denied")
	// ErrBadRequest: malformed input; the wrapping requestError carries
	// the message (HTTP 400).
	ErrBadRequest = errors.New("embeddedvault: bad request")
	// ErrUnsupportedPath: no mount or route serves the path (HTTP 404).
	ErrUnsupportedPath = errors.New("embeddedvault: unsupported path")
	// ErrUnsupportedOperation: the path exists but not for this method
	// (HTTP 405).
	ErrUnsupportedOperation = errors.New("embeddedvault: unsupported operation")
	// ErrMountConflict: a mount already uses the path (HTTP 409).
	ErrMountConflict = errors.New("embeddedvault: path is already in use")
	// ErrNotKVMount: the internal KV API was pointed at a path that is not
	// a KV v1 mount.
	ErrNotKVMount = errors.New("embeddedvault: not a KV v1 mount")
	// ErrBodyTooLarge: the request body exceeds Config.MaxRequestSize
	// (HTTP 413).
	ErrBodyTooLarge = errors.New("embeddedvault: request body too large")
	// ErrCorrupt: a stored value failed authentication (tampered or moved).
	ErrCorrupt = errors.New("embeddedvault: stored value failed authentication")
	// ErrDamaged: one stored entry (a mount, a policy, a token, the token salt) could not be
	// read back, or a mount's engine could not start over its data; the message names it.
	// Only that entry answers it (HTTP 500); the rest of the store serves.
	ErrDamaged = errors.New("embeddedvault: stored entry damaged")
)

// requestError carries a client-facing message for one of the sentinels.
type requestError struct {
	kind error
	msg  string
}

func (e *requestError) Error() string { return e.msg }
func (e *requestError) Unwrap() error { return e.kind }

// badRequest builds a 400 error with the given (Vault-worded) message.
func badRequest(format string, args ...any) error {
	return &requestError{kind: ErrBadRequest, msg: fmt.Sprintf(format, args...)}
}

func withMessage(kind error, format string, args ...any) error {
	return &requestError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// errorTable maps errors to status and message. message "" means: the
// requestError text if there is one, else an empty errors array.
var errorTable = []struct {
	target  error
	status  int
	message string
}{
	{ErrSealed, http.StatusServiceUnavailable, "Vault is sealed"},
	{ErrNotFound, http.StatusNotFound, ""},
	{ErrExists, http.StatusBadRequest, "entry already exists"},
	{ErrNotInitialized, http.StatusBadRequest, "Vault is not initialized"},
	{ErrAlreadyInitialized, http.StatusBadRequest, "Vault is already initialized"},
	{ErrInvalidKey, http.StatusBadRequest, "Unseal failed, invalid key"},
	{ErrPermissionDenied, http.StatusForbidden, "permission denied"},
	{ErrBadRequest, http.StatusBadRequest, ""},
	{ErrUnsupportedPath, http.StatusNotFound, ""},
	{ErrUnsupportedOperation, http.StatusMethodNotAllowed, ""},
	{ErrMountConflict, http.StatusConflict, ""},
	{ErrNotKVMount, http.StatusBadRequest, ""},
	{ErrBodyTooLarge, http.StatusRequestEntityTooLarge, "http: request body too large"},
	{ErrDamaged, http.StatusInternalServerError, ""},
	// Errors of the sdk backends (KV, AppRole).
	{logical.ErrPermissionDenied, http.StatusForbidden, "permission denied"},
	{logical.ErrUnsupportedPath, http.StatusNotFound, ""},
	{logical.ErrUnsupportedOperation, http.StatusMethodNotAllowed, ""},
	{logical.ErrInvalidRequest, http.StatusBadRequest, "invalid request"},
	{logical.ErrRelativePath, http.StatusBadRequest, "relative paths not supported"},
}

// errorStatus returns the status and the errors array for err.
func errorStatus(err error) (int, []string) {
	var coded logical.HTTPCodedError
	if errors.As(err, &coded) {
		return coded.Code(), []string{coded.Error()}
	}
	for _, e := range errorTable {
		if !errors.Is(err, e.target) {
			continue
		}
		var re *requestError
		switch {
		case e.message != "":
			return e.status, []string{e.message}
		case errors.As(err, &re):
			return e.status, []string{re.msg}
		default:
			return e.status, []string{}
		}
	}
	return http.StatusInternalServerError, []string{"internal error"}
}

// writeError writes err in Vault's {"errors":[...]} form.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	status, msgs := errorStatus(err)
	if status == http.StatusInternalServerError {
		log.Error("embeddedvault: request failed", "err", err)
	}
	writeJSON(w, status, map[string]any{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
