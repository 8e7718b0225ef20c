package gitsource

import (
	"errors"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://ci:s3cret@git.example.com/ops/cluster.git": "https://***@git.example.com/ops/cluster.git",
		"https://ghp_tokenasuser@github.com/o/r.git":        "https://***@github.com/o/r.git",
		"http://127.0.0.1:3000/r.git":                       "http://127.0.0.1:3000/r.git",
		"ssh://git:pw@host/r.git":                           "ssh://git:***@host/r.git",
		"ssh://git@host/r.git":                              "ssh://git@host/r.git",
		"git@github.com:o/r.git":                            "git@github.com:o/r.git",
		"/srv/git/cluster":                                  "/srv/git/cluster",
		"https://u:p%zz@host/r":                             "https://***@host/r",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	bare, user, pw := splitCredentials("https://ci:s3cret@git.example.com/r.git")
	if bare != "https://git.example.com/r.git" || user != "ci" || pw != "s3cret" {
		t.Errorf("splitCredentials = %q %q %q", bare, user, pw)
	}
	base := errors.New(`Get "https://ci:s3cret%21@h/r.git/info/refs": s3cret!`)
	err := redact(base, "s3cret!", "")
	if strings.Contains(err.Error(), "s3cret") || !errors.Is(err, base) {
		t.Errorf("redacted error %q", err)
	}
}
