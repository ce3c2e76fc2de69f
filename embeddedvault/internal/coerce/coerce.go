// Package coerce turns the loosely typed values of Vault request bodies
// and stored JSON into Go integers and durations the way the vault CLI
// and its users expect: "5" and 5 are both 5; "5m", "300" and 300 are
// all durations. The server's field helpers and the KV engine share it,
// so that a value means the same at every path.
package coerce

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Int accepts a json.Number, float64, int, int64 or a decimal string
// ("" is 0) holding a whole number within the int32 range.
func Int(v any) (int, error) {
	switch t := v.(type) {
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return clampInt(n)
		}
		f, err := t.Float64()
		if err != nil || f != math.Trunc(f) {
			return 0, fmt.Errorf("not an integer: %s", t)
		}
		return clampInt(int64(f))
	case float64:
		if t != math.Trunc(t) {
			return 0, fmt.Errorf("not an integer: %v", t)
		}
		return clampInt(int64(t))
	case int:
		return t, nil
	case int64:
		return clampInt(t)
	case string:
		if t == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("not an integer: %q", t)
		}
		return clampInt(n)
	}
	return 0, fmt.Errorf("not an integer: %T", v)
}

func clampInt(n int64) (int, error) {
	if n > math.MaxInt32 || n < math.MinInt32 {
		return 0, fmt.Errorf("out of range: %d", n)
	}
	return int(n), nil
}

// Duration accepts whole seconds (a number or a digit string), whole days
// ("7d") or a Go duration string ("5m", "1h30m") truncated to the second;
// "" is zero and negative durations are errors.
func Duration(v any) (time.Duration, error) {
	switch t := v.(type) {
	case string:
		t = strings.TrimSpace(t)
		if t == "" {
			return 0, nil
		}
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return secondsDuration(n)
		}
		if strings.HasSuffix(t, "d") {
			if n, err := strconv.ParseInt(strings.TrimSuffix(t, "d"), 10, 64); err == nil {
				return secondsDuration(n * 86400)
			}
		}
		d, err := time.ParseDuration(t)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("not a duration: %q", t)
		}
		return d.Truncate(time.Second), nil
	default:
		n, err := Int(v)
		if err != nil {
			return 0, err
		}
		return secondsDuration(int64(n))
	}
}

func secondsDuration(n int64) (time.Duration, error) {
	if n < 0 || n > math.MaxInt64/int64(time.Second) {
		return 0, fmt.Errorf("duration out of range: %d", n)
	}
	return time.Duration(n) * time.Second, nil
}
