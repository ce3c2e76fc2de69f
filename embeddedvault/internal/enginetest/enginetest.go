// Package enginetest drives vault/sdk backends in tests the way the
// embeddedvault server does, without HTTP: over logical.InmemStorage,
// with the server's existence check that turns an update of a new path
// into a create. It is imported by the engines' tests only.
package enginetest

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// RemoteAddr is the client address of every request Do sends.
const RemoteAddr = "127.0.0.1:1234"

// New builds a backend with factory over a fresh logical.InmemStorage,
// with Vault's default lease TTLs (768h), and returns both.
func New(t *testing.T, factory logical.Factory) (logical.Backend, logical.Storage) {
	t.Helper()
	s := &logical.InmemStorage{}
	b, err := factory(context.Background(), &logical.BackendConfig{
		StorageView: s,
		System:      logical.StaticSystemView{DefaultLeaseTTLVal: 768 * time.Hour, MaxLeaseTTLVal: 768 * time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, s
}

// Do runs one request as the server would: update becomes create when the
// existence check says the path is new.
func Do(t *testing.T, b logical.Backend, s logical.Storage, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	t.Helper()
	req := &logical.Request{Operation: op, Path: path, Data: data, Storage: s,
		Connection: &logical.Connection{RemoteAddr: RemoteAddr}}
	if op == logical.UpdateOperation {
		found, exists, err := b.HandleExistenceCheck(context.Background(), req)
		if err != nil {
			return nil, err
		}
		if found && !exists {
			req.Operation = logical.CreateOperation
		}
	}
	return b.HandleRequest(context.Background(), req)
}

// MustDo runs Do and fails the test on an error or an error response.
func MustDo(t *testing.T, b logical.Backend, s logical.Storage, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	resp, err := Do(t, b, s, op, path, data)
	if err != nil || (resp != nil && resp.IsError()) {
		t.Fatalf("%s %s: %v %v", op, path, resp, err)
	}
	return resp
}

// ErrDo runs Do and fails the test unless the answer is an error
// response with exactly msg.
func ErrDo(t *testing.T, b logical.Backend, s logical.Storage, op logical.Operation, path string, data map[string]any, msg string) {
	t.Helper()
	resp, err := Do(t, b, s, op, path, data)
	if err != nil {
		t.Fatalf("%s %s: unexpected error %v", op, path, err)
	}
	if resp == nil || !resp.IsError() || resp.Error().Error() != msg {
		t.Fatalf("%s %s = %v, want error %q", op, path, resp, msg)
	}
}
