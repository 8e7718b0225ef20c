package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the berth command tree with args and returns stdout, stderr
// and the exit code main would use.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	code := 0
	if err := root.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else {
			errb.WriteString(err.Error())
			code = 1
		}
	}
	return out.String(), errb.String(), code
}

func TestValidateCommand(t *testing.T) {
	out, _, code := run(t, "", "validate", "../../examples")
	if code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("examples: exit %d: %s", code, out)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("kind: App\nid: /a\ncmd: x\ncpu: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = run(t, "", "validate", dir)
	want := filepath.Join(dir, "a.yaml") + `:4:1: cpu: unknown field (did you mean "cpus"?)`
	if code != 1 || strings.TrimSpace(out) != want {
		t.Fatalf("exit %d, output %q, want %q", code, out, want)
	}
}

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	jobs := `[{"name": "a", "command": "x", "schedule": "R/2026-01-01T00:00:00Z/P1D", "cpus": "0.5", "successCount": 3},
	          {"name": "b", "command": "y", "parents": ["a"]}]`
	out, errOut, code := run(t, jobs, "import", "chronos", "-", "-o", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, filepath.Join(dir, "jobs", "b.yaml")) {
		t.Errorf("written files not listed: %q", out)
	}
	if _, _, code := run(t, "", "validate", dir); code != 0 {
		t.Errorf("imported jobs do not validate")
	}
	if _, _, code := run(t, "", "fmt", "--check", dir); code != 0 {
		t.Errorf("imported jobs are not formatted")
	}
	_, errOut, code = run(t, `{"id": "/x", "cmd": "y", "fetch": [{"uri": "ftp://e/a"}]}`, "import", "marathon", "-", "-o", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "stdin:1:44: fetch[0].uri: scheme ftp is not supported") {
		t.Errorf("unsupported URI: exit %d, %q", code, errOut)
	}
	if _, _, code := run(t, "", "import", "kubernetes", "x", "-o", dir); code != 1 {
		t.Errorf("unknown source accepted")
	}
}

func TestFmtCommand(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(path, []byte("cmd: x\nid: /a\nkind: App\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, code := run(t, "", "fmt", "--check", dir); code != 1 || !strings.Contains(out, "a.yaml") {
		t.Fatalf("--check: exit %d, %q", code, out)
	}
	if _, _, code := run(t, "", "fmt", dir); code != 0 {
		t.Fatalf("fmt: exit %d", code)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "kind: App\nid: /a\ncmd: x\n" {
		t.Errorf("formatted to %q", got)
	}
	if _, _, code := run(t, "", "fmt", "--check", dir); code != 0 {
		t.Errorf("--check after fmt: exit %d", code)
	}
}
