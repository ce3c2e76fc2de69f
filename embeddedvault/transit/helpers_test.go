package transit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/helper/errutil"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/kmsbox/kmsbox/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// env is a transit backend over logical.InmemStorage, no HTTP.
type env struct {
	t     testing.TB
	b     *backend
	s     logical.Storage
	clock *testutil.Clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	s := &logical.InmemStorage{}
	clock := testutil.NewClock(time.Now())
	b, err := newBackend(context.Background(), &logical.BackendConfig{
		StorageView: s,
		System:      logical.StaticSystemView{DefaultLeaseTTLVal: time.Hour, MaxLeaseTTLVal: time.Hour},
	}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, b: b, s: s, clock: clock}
}

// do runs a request as embeddedvault does: an update on a path whose
// existence check reports "missing" becomes a create.
func (e *env) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	req := &logical.Request{ID: "req", Operation: op, Path: path, Data: data, Storage: e.s}
	if op == logical.UpdateOperation {
		found, exists, err := e.b.HandleExistenceCheck(context.Background(), req)
		if err != nil {
			return nil, err
		}
		if found && !exists {
			req.Operation = logical.CreateOperation
		}
	}
	return e.b.HandleRequest(context.Background(), req)
}

// must runs a request that has to succeed and returns its data.
func (e *env) must(op logical.Operation, path string, data map[string]any) map[string]any {
	e.t.Helper()
	resp, err := e.do(op, path, data)
	if err != nil || (resp != nil && resp.IsError()) {
		e.t.Fatalf("%s %s: %v %v", op, path, resp, err)
	}
	if resp == nil {
		return nil
	}
	return resp.Data
}

// outcome is what the HTTP layer would answer, as pinned in goldens.
type outcome struct {
	Status   int      `json:"status"`
	Data     any      `json:"data,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// outcomeOf maps a backend answer to its status the way Vault's
// logical.RespondErrorCommon and embeddedvault's translate do.
func outcomeOf(op logical.Operation, resp *logical.Response, err error) outcome {
	if resp != nil {
		if code, ok := resp.Data[logical.HTTPStatusCode].(int); ok {
			var body struct {
				Data     any      `json:"data"`
				Warnings []string `json:"warnings"`
			}
			raw, _ := resp.Data[logical.HTTPRawBody].(string)
			if jerr := json.Unmarshal([]byte(raw), &body); jerr != nil {
				return outcome{Status: -1, Errors: []string{jerr.Error()}}
			}
			return outcome{Status: code, Data: body.Data, Warnings: body.Warnings}
		}
		if resp.IsError() {
			status := http.StatusBadRequest
			var coded logical.HTTPCodedError
			if errors.As(err, &coded) {
				status = coded.Code()
			}
			return outcome{Status: status, Errors: []string{resp.Error().Error()}}
		}
	}
	if err != nil {
		var ue errutil.UserError
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, logical.ErrInvalidRequest), errors.As(err, &ue):
			status = http.StatusBadRequest
		case errors.Is(err, logical.ErrPermissionDenied):
			status = http.StatusForbidden
		case errors.Is(err, logical.ErrUnsupportedPath):
			status = http.StatusNotFound
		}
		return outcome{Status: status, Errors: []string{err.Error()}}
	}
	if resp == nil && (op == logical.ReadOperation || op == logical.ListOperation) {
		return outcome{Status: http.StatusNotFound}
	}
	if resp == nil {
		return outcome{Status: http.StatusNoContent}
	}
	if keys, _ := resp.Data["keys"].([]string); op == logical.ListOperation && len(keys) == 0 {
		return outcome{Status: http.StatusNotFound}
	}
	if resp.Data == nil && len(resp.Warnings) == 0 {
		if op == logical.ReadOperation || op == logical.ListOperation {
			return outcome{Status: http.StatusNotFound}
		}
		return outcome{Status: http.StatusNoContent}
	}
	return outcome{Status: http.StatusOK, Data: resp.Data, Warnings: resp.Warnings}
}

var vaultPrefixed = regexp.MustCompile(`^(vault:v\d+:).+$`)

// normalize replaces random or time-dependent values so goldens are stable.
func normalize(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if key == "keys" { // version -> creation time or key material
				switch val.(type) {
				case float64:
					out[k] = 0
					continue
				case string:
					out[k] = "<redacted>"
					continue
				}
			}
			out[k] = normalize(val, k)
		}
		return out
	case []any:
		for i := range x {
			x[i] = normalize(x[i], key)
		}
		return x
	case string:
		switch key {
		case "random_bytes", "public_key", "publickey", "backup", "creation_time", "time", "datakey_plaintext":
			if x != "" {
				return "<redacted>"
			}
		}
		return vaultPrefixed.ReplaceAllString(x, "${1}<redacted>")
	}
	return v
}

// golden compares got with testdata/<name>.golden, rewriting it with -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(normalize(generic, ""), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	path := filepath.Join("testdata", strings.ReplaceAll(name, "/", "_")+".golden")
	if *update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("%s mismatch\n got: %s\nwant: %s", path, out, want)
	}
}
