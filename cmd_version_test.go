package main

import (
	"regexp"
	"testing"
)

func TestVersion(t *testing.T) {
	out, _, err := runApp(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^kmsbox \S+\n$`).MatchString(out) {
		t.Errorf("version printed %q", out)
	}
}
