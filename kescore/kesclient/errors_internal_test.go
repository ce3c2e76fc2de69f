package kesclient

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		ctype  string
		body   string
		msg    string
		is     error
	}{
		{"message", 400, "application/json", `{"message":"key already exists"}`, "key already exists", ErrKeyExists},
		{"v0.7 exists", 400, "application/json", `{"message":"key does already exist"}`, "key does already exist", ErrKeyExists},
		{"error field", 404, "application/json", `{"error":"key does not exist"}`, "key does not exist", ErrKeyNotFound},
		{"error wins", 403, "application/json", `{"message":"x","error":"prohibited by policy"}`, "prohibited by policy", ErrNotAllowed},
		{"empty error", 403, "application/json", `{"message":"not authorized: insufficient permissions","error":""}`, "not authorized: insufficient permissions", ErrNotAllowed},
		{"charset", 400, "application/json; charset=utf-8", `{"message":"decryption failed: ciphertext is not authentic"}`, "decryption failed: ciphertext is not authentic", ErrDecrypt},
		{"json without type", 404, "text/plain", `{"message":"policy does not exist"}`, "policy does not exist", ErrPolicyNotFound},
		{"plain text", 404, "text/plain; charset=utf-8", "identity does not exist\n", "identity does not exist", ErrIdentityNotFound},
		{"broken json", 400, "application/json", `{"message":`, `{"message":`, nil},
		{"no field", 502, "application/json", `{"foo":1}`, `{"foo":1}`, nil},
		{"number message", 500, "application/json", `{"message":5}`, `{"message":5}`, nil},
		{"empty", 503, "", "", "", nil},
		{"status differs", 500, "application/json", `{"message":"key already exists"}`, "key already exists", nil},
		{"legacy text at other status", 400, "application/json", `{"message":"prohibited by policy"}`, "prohibited by policy", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := parseError(tc.status, tc.ctype, []byte(tc.body))
			if e.Status != tc.status || e.Message != tc.msg {
				t.Fatalf("got %d %q, want %d %q", e.Status, e.Message, tc.status, tc.msg)
			}
			for _, s := range []error{ErrKeyExists, ErrKeyNotFound, ErrNotAllowed, ErrDecrypt, ErrPolicyNotFound, ErrIdentityNotFound} {
				if got, want := errors.Is(e, s), s == tc.is; got != want {
					t.Errorf("errors.Is(%v, %v) = %v", e, s, got)
				}
			}
		})
	}
	if got := parseError(503, "", nil).Error(); got != "kes: 503 Service Unavailable" {
		t.Errorf("empty message text %q", got)
	}
	if errors.Is(parseError(404, "", []byte("key does not exist")), errors.New("key does not exist")) {
		t.Error("an *Error matched a plain error")
	}
}

// FuzzParseError: any error answer becomes an *Error with the same status,
// valid UTF-8, and the message of a well-formed {"message"} body.
func FuzzParseError(f *testing.F) {
	f.Add(400, "application/json", []byte(`{"message":"key already exists"}`))
	f.Add(403, "application/json", []byte(`{"error":"prohibited by policy"}`))
	f.Add(500, "text/plain", []byte("\xff\xfe broken"))
	f.Add(404, "", []byte(`{"message":null,"error":null}`))
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		e := parseError(status, ctype, body)
		if e == nil || e.Status != status {
			t.Fatalf("status %d lost: %+v", status, e)
		}
		if !utf8.ValidString(e.Message) {
			t.Fatalf("invalid UTF-8 message %q", e.Message)
		}
		_ = e.Error()
		var m struct {
			Message string  `json:"message"`
			Error   *string `json:"error"`
		}
		if strings.HasPrefix(ctype, "application/json") && json.Unmarshal(body, &m) == nil && m.Error == nil && utf8.Valid(body) && strings.Contains(string(body), `"message"`) {
			if want := strings.TrimSpace(m.Message); e.Message != want {
				t.Fatalf("message %q, want %q (body %q)", e.Message, want, body)
			}
		}
		if errors.Is(e, ErrKeyExists) != (status == http.StatusBadRequest && (e.Message == "key already exists" || e.Message == "key does already exist")) {
			t.Fatalf("ErrKeyExists match wrong for %+v", e)
		}
	})
}

// FuzzParseKeyList: a listing answer never panics the parser, and every
// name of a well-formed JSON page comes back.
func FuzzParseKeyList(f *testing.F) {
	f.Add("application/json", []byte(`{"names":["a","b"],"continue_at":"c"}`))
	f.Add("application/x-ndjson", []byte("{\"name\":\"a\"}\n{\"name\":\"b\"}\n"))
	f.Add("application/x-ndjson", []byte("{\"error\":\"boom\"}\n"))
	f.Add("application/json", []byte(`{"names":null}`))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		names, next, err := parseKeyList(ctype, body)
		if err != nil {
			return
		}
		var page struct {
			Names      []string `json:"names"`
			ContinueAt string   `json:"continue_at"`
		}
		if !strings.HasPrefix(strings.TrimSpace(ctype), "application/x-ndjson") && json.Unmarshal(body, &page) == nil {
			if len(names) != len(page.Names) || next != page.ContinueAt {
				t.Fatalf("page %+v parsed as %v %q", page, names, next)
			}
		}
	})
}
