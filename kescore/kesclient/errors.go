package kesclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors of the KES API. Compare with [errors.Is]: an [*Error]
// matches a sentinel when its status and its message agree, where the
// message of an older server version counts as the current one.
var (
	// ErrKeyExists: creating or importing a key that already exists.
	// v0.7 servers said "key does already exist".
	ErrKeyExists = &Error{Status: http.StatusBadRequest, Message: "key already exists"}

	// ErrKeyNotFound: the named key does not exist.
	ErrKeyNotFound = &Error{Status: http.StatusNotFound, Message: "key does not exist"}

	// ErrNotAllowed: the client's identity is unknown or its policy does
	// not allow the request. v0.7 servers said "prohibited by policy".
	ErrNotAllowed = &Error{Status: http.StatusForbidden, Message: "not authorized: insufficient permissions"}

	// ErrDecrypt: the ciphertext is not authentic (wrong key, wrong
	// context, tampered or garbage).
	ErrDecrypt = &Error{Status: http.StatusBadRequest, Message: "decryption failed: ciphertext is not authentic"}

	// ErrPolicyNotFound: the named policy does not exist.
	ErrPolicyNotFound = &Error{Status: http.StatusNotFound, Message: "policy does not exist"}

	// ErrIdentityNotFound: the identity is not known to the server.
	ErrIdentityNotFound = &Error{Status: http.StatusNotFound, Message: "identity does not exist"}
)

// legacyMessages maps (status, message) pairs of older servers to the
// current message with the same meaning.
var legacyMessages = map[errorKey]string{
	{http.StatusBadRequest, "key does already exist"}: "key already exists",
	{http.StatusForbidden, "prohibited by policy"}:    "not authorized: insufficient permissions",
}

type errorKey struct {
	status  int
	message string
}

// Error is an error answer of a KES server: the HTTP status code and the
// message the server sent.
type Error struct {
	Status  int    // HTTP status code, >= 400
	Message string // the server's message, verbatim (surrounding space trimmed)
}

// Error returns the server's message, or the status text when the server
// sent none.
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("kes: %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

// Is reports whether target is an *Error with the same status and, after
// mapping older servers' wording to the current one, the same message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || e == nil || t == nil {
		return false
	}
	return e.Status == t.Status && canonicalMessage(e.Status, e.Message) == canonicalMessage(t.Status, t.Message)
}

func canonicalMessage(status int, msg string) string {
	if m, ok := legacyMessages[errorKey{status, msg}]; ok {
		return m
	}
	return msg
}

// ConnError reports that a request reached none of the client's endpoints:
// every attempt failed with a network or TLS error.
type ConnError struct {
	Endpoint string // the endpoint tried last
	Err      error  // the last network error
}

// Error describes the failed connection.
func (e *ConnError) Error() string {
	return fmt.Sprintf("kes: cannot reach %s: %v", e.Endpoint, e.Err)
}

// Unwrap returns the underlying network error.
func (e *ConnError) Unwrap() error { return e.Err }

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// parseError turns an error answer (status >= 400) into an *Error. The body
// is `{"message":".."}` for current servers, `{"error":".."}` for some older
// ones (the "error" field wins when both are set), and plain text for
// anything else, e.g. a proxy's answer. A JSON body without either field,
// or one that does not decode, is taken as plain text too.
func parseError(status int, contentType string, body []byte) *Error {
	text := strings.TrimSpace(string(body))
	if json.Valid(bytes.TrimSpace(body)) && (strings.HasPrefix(strings.TrimSpace(contentType), "application/json") || strings.HasPrefix(text, "{")) {
		var m struct {
			Message *string `json:"message"`
			Error   *string `json:"error"`
		}
		if err := json.Unmarshal(body, &m); err == nil && (m.Message != nil || m.Error != nil) {
			msg := ""
			if m.Message != nil {
				msg = *m.Message
			}
			if m.Error != nil && *m.Error != "" {
				msg = *m.Error
			}
			return &Error{Status: status, Message: strings.TrimSpace(msg)}
		}
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	return &Error{Status: status, Message: text}
}

// IsUnavailable reports whether err means that the KES server, or the key
// store behind it, cannot serve the request right now: no endpoint was
// reachable ([*ConnError]) or the server answered with a 5xx status other
// than 501 (e.g. 502 "key store is unavailable", 503, 504 "key store is not
// reachable"). Such requests may succeed later; other errors will not.
func IsUnavailable(err error) bool {
	var ce *ConnError
	if errors.As(err, &ce) {
		return true
	}
	var e *Error
	return errors.As(err, &e) && e.Status >= 500 && e.Status != http.StatusNotImplemented
}
