package soak

import (
	"slices"
	"strings"
	"testing"
)

func TestParseUpstream(t *testing.T) {
	got, err := parseUpstream(strings.NewReader(`# template version 2
upstream soak_web {
  server 127.0.0.2:31004 max_fails=3 fail_timeout=10;
  server 127.0.0.3:31102;
  server 127.0.0.1:9 down;
}
`))
	if err != nil || !slices.Equal(got, []string{"127.0.0.2:31004", "127.0.0.3:31102"}) {
		t.Fatalf("parseUpstream = %v, %v", got, err)
	}
	if got, _ := parseUpstream(strings.NewReader("upstream x {\n  server 127.0.0.1:9 down;\n}\n")); len(got) != 0 {
		t.Fatalf("the placeholder counted as a server: %v", got)
	}
}

// FuzzParseUpstream: any file parses without panicking, and every server
// read back is a field of the input.
func FuzzParseUpstream(f *testing.F) {
	f.Add("upstream a {\n server 1.2.3.4:5;\n server 1.2.3.4:9 down;\n}\n")
	f.Add("server\nserver ;\nserver x down")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseUpstream(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, addr := range got {
			if addr == "" || !strings.Contains(s, addr) {
				t.Fatalf("server %q is not in the input", addr)
			}
		}
	})
}

func TestTaskOf(t *testing.T) {
	if got := taskOf("task=web.1 host=agent-1"); got != "web.1" {
		t.Fatalf("taskOf = %q", got)
	}
	if got := taskOf("502 Bad Gateway"); got != "" {
		t.Fatalf("taskOf of an error page = %q", got)
	}
}
