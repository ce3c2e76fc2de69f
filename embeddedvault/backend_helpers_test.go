package embeddedvault

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"
)

// newInmemBackend builds a backend over logical.InmemStorage, no HTTP.
func newInmemBackend(t *testing.T, factory func(context.Context, *logical.BackendConfig) (logical.Backend, error)) (logical.Backend, logical.Storage) {
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

// do runs one request as the server would: update becomes create when the
// existence check says the path is new.
func do(t *testing.T, b logical.Backend, s logical.Storage, op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	t.Helper()
	req := &logical.Request{Operation: op, Path: path, Data: data, Storage: s,
		Connection: &logical.Connection{RemoteAddr: "127.0.0.1:1234"}}
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

// mustDo fails the test on an error or error response.
func mustDo(t *testing.T, b logical.Backend, s logical.Storage, op logical.Operation, path string, data map[string]any) *logical.Response {
	t.Helper()
	resp, err := do(t, b, s, op, path, data)
	if err != nil || (resp != nil && resp.IsError()) {
		t.Fatalf("%s %s: %v %v", op, path, resp, err)
	}
	return resp
}

// errDo expects an error response with msg.
func errDo(t *testing.T, b logical.Backend, s logical.Storage, op logical.Operation, path string, data map[string]any, msg string) {
	t.Helper()
	resp, err := do(t, b, s, op, path, data)
	if err != nil {
		t.Fatalf("%s %s: unexpected error %v", op, path, err)
	}
	if resp == nil || !resp.IsError() || resp.Error().Error() != msg {
		t.Fatalf("%s %s = %v, want error %q", op, path, resp, msg)
	}
}
