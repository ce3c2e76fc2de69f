package transit

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// batchItem is one element of batch_input: its string fields as given,
// and key_version.
type batchItem struct {
	fields     map[string]string
	keyVersion int
}

func (it batchItem) get(k string) string { return it.fields[k] }

func (it batchItem) has(k string) bool {
	_, ok := it.fields[k]
	return ok
}

// batchStringFields are the item fields that must be strings when set.
// Other fields are ignored, as Vault's decoder ignores them.
var batchStringFields = [...]string{
	"plaintext", "ciphertext", "context", "nonce", "associated_data", "reference",
	"input", "hmac", "signature", "padding_scheme",
}

// decodeBatch parses batch_input as sent over JSON (a list of objects;
// numbers arrive as json.Number). required names a field every item must
// carry ("" for none), with Vault's wording for the missing case.
func decodeBatch(raw any, required, missingMsg string) ([]batchItem, error) {
	list, ok := raw.([]any)
	if !ok {
		if maps, isMaps := raw.([]map[string]any); isMaps {
			for _, m := range maps {
				list = append(list, m)
			}
		} else {
			return nil, fmt.Errorf("source data must be an array or slice, got %T", raw)
		}
	}
	items := make([]batchItem, len(list))
	var errs []error
	for i, elem := range list {
		m, ok := elem.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("[%d] expected a map, got '%T'", i, elem)
		}
		items[i].fields = map[string]string{}
		for _, k := range batchStringFields {
			v, present := m[k]
			switch s, isString := v.(string); {
			case !present || v == nil:
			case isString:
				items[i].fields[k] = s
			default:
				errs = append(errs, fmt.Errorf("'[%d].%s' expected type 'string', got unconvertible type '%T'", i, k, v))
			}
		}
		if v, present := m["key_version"]; present && v != nil {
			n, err := intValue(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("'[%d].key_version': %w", i, err))
			}
			items[i].keyVersion = n
		}
		if required != "" && !items[i].has(required) {
			errs = append(errs, fmt.Errorf("'[%d].%s' %s", i, required, missingMsg))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return items, nil
}

// intValue accepts the forms a JSON or Go caller gives an integer in.
func intValue(v any) (int, error) {
	switch n := v.(type) {
	case int:
		return n, nil
	case int64:
		return int(n), nil
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > math.MaxInt32 {
			return 0, fmt.Errorf("expected type 'int', got %v", n)
		}
		return int(n), nil
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 32)
		if err != nil {
			return 0, fmt.Errorf("error decoding %q: %w", n, err)
		}
		return int(i), nil
	case string:
		i, err := strconv.ParseInt(n, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("error decoding %q: %w", n, err)
		}
		return int(i), nil
	}
	return 0, fmt.Errorf("expected type 'int', got unconvertible type '%T'", v)
}

// batchOutcome tracks how the items of a batch fared.
type batchOutcome struct {
	successes, userErrors, internalErrors bool
}

// failed records a failed item: a server-side (internal) failure or the caller's.
func (o *batchOutcome) failed(internal bool) {
	if internal {
		o.internalErrors = true
	} else {
		o.userErrors = true
	}
}

// respond applies Vault's status rule for encrypt and decrypt batches:
// any user error gives 400, else any internal error 500; when some items
// succeeded, partial_failure_response_code (1..599) replaces that code.
// The body stays the normal response, rendered raw with the status.
func (o batchOutcome) respond(d *framework.FieldData, resp *logical.Response, req *logical.Request) (*logical.Response, error) {
	if !o.userErrors && !o.internalErrors {
		return resp, nil
	}
	code := http.StatusInternalServerError
	if o.userErrors {
		code = http.StatusBadRequest
	}
	if raw, ok := d.GetOk("partial_failure_response_code"); ok && o.successes {
		if c := raw.(int); c < 1 || c > 599 {
			resp.AddWarning(fmt.Sprintf("invalid HTTP response code override from partial_failure_response_code, reverting to %d", code))
		} else {
			code = c
		}
	}
	return logical.RespondWithStatusCode(resp, req, code)
}
