package certs

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"go.uber.org/zap"
)

func TestZapLoggerForwardsToSlog(t *testing.T) {
	var buf bytes.Buffer
	zl := newZapLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))

	zl.Debug("hidden")
	zl.Named("obtain").With(zap.String("identifier", "a.example")).
		Warn("renewing", zap.Int("attempt", 2), zap.Error(errors.New("boom")))

	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("want exactly one JSON record, got %q: %v", buf.String(), err)
	}
	want := map[string]any{
		"level": "WARN", "msg": "renewing", "logger": "obtain",
		"identifier": "a.example", "attempt": float64(2), "error": "boom",
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v (record %v)", k, rec[k], v, rec)
		}
	}
}
