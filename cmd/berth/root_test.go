package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestVersionAndHelp(t *testing.T) {
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs([]string{"--version"})
	if err := root.Execute(); err != nil {
		t.Fatalf("--version: %v", err)
	}
	if !strings.Contains(out.String(), "berth version") {
		t.Fatalf("--version printed %q", out.String())
	}
	out.Reset()
	root = newRootCmd(&out, &errb)
	root.SetArgs([]string{"completion", "bash"})
	if err := root.Execute(); err != nil {
		t.Fatalf("completion: %v", err)
	}
	if !strings.Contains(out.String(), "bash completion") {
		t.Fatalf("completion bash printed no script")
	}
}
