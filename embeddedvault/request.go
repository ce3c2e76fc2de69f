package embeddedvault

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/kmsbox/kmsbox/embeddedvault/internal/coerce"
	"github.com/kmsbox/kmsbox/internal/httproute"
)

// request is one decoded API call.
type request struct {
	method string
	op     logical.Operation
	path   string // logical path, without /v1/
	data   map[string]any
	query  url.Values
	token  string
	te     *tokenEntry // the caller's token; nil on unauthenticated routes
	st     *coreState  // unsealed state; nil on routes that work sealed
	http   *http.Request
}

// response is what a handler returns; a nil *response means 204.
type response struct {
	data          map[string]any
	auth          map[string]any
	warnings      []string
	topLevel      bool // copy data keys to the top level (sys/mounts, sys/auth, sys/policy)
	bare          any  // written as the whole body (sys/init, seal-status, health, leader)
	status        int  // 0 means 200
	noBody        bool // HEAD
	leaseDuration int64
	mountType     string
	raw           *rawResponse
}

// rawResponse is a backend-chosen status and body (logical.RespondWithStatusCode).
type rawResponse struct {
	status      int
	contentType string
	body        []byte
}

// operation maps the HTTP method (and ?list=true) to a logical operation.
func operation(r *http.Request) (logical.Operation, error) {
	switch r.Method {
	case http.MethodGet:
		if l := r.URL.Query().Get("list"); l != "" {
			if b, err := strconv.ParseBool(l); err == nil && b {
				return logical.ListOperation, nil
			}
		}
		return logical.ReadOperation, nil
	case "LIST":
		return logical.ListOperation, nil
	case http.MethodPut, http.MethodPost:
		return logical.UpdateOperation, nil
	case http.MethodDelete:
		return logical.DeleteOperation, nil
	case http.MethodHead:
		return logical.HeaderOperation, nil
	}
	return "", ErrUnsupportedOperation
}

// decodeBody reads a JSON object body, limited by [httproute.LimitBody]. An
// empty body, "null" and "{}" all give an empty map.
func decodeBody(r *http.Request) (map[string]any, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tl *httproute.TooLargeError
		if errors.As(err, &tl) {
			return nil, ErrBodyTooLarge
		}
		return nil, badRequest("failed to read request body: %v", err)
	}
	return decodeJSONObject(raw)
}

// decodeJSONObject parses raw as one JSON object; numbers stay json.Number
// so that stored KV data round-trips exactly.
func decodeJSONObject(raw []byte) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badRequest("failed to parse JSON input: %v", err)
	}
	if dec.More() {
		return nil, badRequest("failed to parse JSON input: trailing data after JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("failed to parse JSON input: trailing data after JSON value")
	}
	switch m := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return m, nil
	}
	return nil, badRequest("failed to parse JSON input: body must be a JSON object")
}

// queryData turns query parameters into request data (GET, DELETE, LIST).
func queryData(q url.Values) map[string]any {
	if len(q) == 0 {
		return nil
	}
	out := make(map[string]any, len(q))
	for k, v := range q {
		if k == "list" {
			continue
		}
		if len(v) == 1 {
			out[k] = v[0]
		} else {
			out[k] = append([]string(nil), v...)
		}
	}
	return out
}

// requestToken returns the token from X-Vault-Token or Authorization: Bearer.
func requestToken(r *http.Request) string {
	if t := r.Header.Get("X-Vault-Token"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// The field helpers coerce CLI-style values: "5" and 5 are both ints,
// "5m", "300" and 300 are durations, "a,b" and ["a","b"] are lists.

func intField(data map[string]any, key string, def int) (int, error) {
	v, ok := data[key]
	if !ok || v == nil {
		return def, nil
	}
	n, err := coerce.Int(v)
	if err != nil {
		return 0, badRequest("invalid value for %q: %v", key, err)
	}
	return n, nil
}

func boolField(data map[string]any, key string, def bool) (bool, error) {
	v, ok := data[key]
	if !ok || v == nil {
		return def, nil
	}
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		if t == "" {
			return def, nil
		}
		b, err := strconv.ParseBool(t)
		if err != nil {
			return false, badRequest("invalid value for %q: not a boolean", key)
		}
		return b, nil
	case json.Number:
		return t.String() != "0", nil
	}
	return false, badRequest("invalid value for %q: not a boolean", key)
}

func durationField(data map[string]any, key string, def time.Duration) (time.Duration, error) {
	v, ok := data[key]
	if !ok || v == nil {
		return def, nil
	}
	d, err := coerce.Duration(v)
	if err != nil {
		return 0, badRequest("invalid value for %q: %v", key, err)
	}
	return d, nil
}

func stringField(data map[string]any, key string) (string, error) {
	v, ok := data[key]
	if !ok || v == nil {
		return "", nil
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	case bool:
		return strconv.FormatBool(t), nil
	}
	return "", badRequest("invalid value for %q: not a string", key)
}

// stringsField accepts a JSON list or a comma-separated string; entries
// are trimmed, empties dropped.
func stringsField(data map[string]any, key string) ([]string, bool, error) {
	v, ok := data[key]
	if !ok || v == nil {
		return nil, ok, nil
	}
	var parts []string
	switch t := v.(type) {
	case string:
		parts = strings.Split(t, ",")
	case []string:
		parts = t
	case []any:
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, true, badRequest("invalid value for %q: list of strings expected", key)
			}
			parts = append(parts, s)
		}
	default:
		return nil, true, badRequest("invalid value for %q: list of strings expected", key)
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, true, nil
}

// mapField accepts a JSON object (values kept as strings) or nothing.
func mapField(data map[string]any, key string) (map[string]string, error) {
	v, ok := data[key]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("invalid value for %q: object expected", key)
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, err := stringField(m, k)
		if err != nil {
			return nil, err
		}
		_ = e
		out[k] = s
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
