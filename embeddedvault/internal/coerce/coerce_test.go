package coerce

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want int
		ok   bool
	}{
		{"json number", json.Number("7"), 7, true},
		{"json whole float", json.Number("2.0"), 2, true},
		{"json exponent", json.Number("1e3"), 1000, true},
		{"json fraction", json.Number("1.5"), 0, false},
		{"float64", 3.0, 3, true},
		{"float64 fraction", 3.5, 0, false},
		{"int", -4, -4, true},
		{"int64 out of int32 range", int64(math.MaxInt32) + 1, 0, false},
		{"string", " 12 ", 12, true},
		{"empty string", "", 0, true},
		{"word", "five", 0, false},
		{"bool", true, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Int(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("Int(%#v) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want time.Duration
		ok   bool
	}{
		{"seconds string", "300", 5 * time.Minute, true},
		{"days", "7d", 7 * 24 * time.Hour, true},
		{"go duration", "1h30m", 90 * time.Minute, true},
		{"truncated to the second", "1.5s", time.Second, true},
		{"empty", " ", 0, true},
		{"negative go duration", "-5m", 0, false},
		{"negative seconds", json.Number("-1"), 0, false},
		{"json number", json.Number("60"), time.Minute, true},
		{"garbage", "soon", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Duration(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("Duration(%#v) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}
