package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds arbitrary bytes to the loader as a YAML and as a JSON file:
// it must return a set or errors, never panic or hang.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/import/*.json")
	more, _ := filepath.Glob("../examples/*/*.yaml")
	for _, p := range append(seeds, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("kind: App\nid: /a\ncmd: x\nconstraints: [[hostname, LIKE, '(']]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	// Volumes: persistent (and its Docker form), external in Marathon's and
	// Chronos's option forms, residency.
	f.Add([]byte("kind: App\nid: /a\ncmd: x\ncontainer:\n  volumes:\n  - {containerPath: d, persistent: {size: 1}}\n  - {containerPath: /d, hostPath: d}\nresidency: {taskLostBehavior: RELAUNCH_AFTER_TIMEOUT}\n"))
	f.Add([]byte(`{"id": "/e", "cmd": "x", "container": {"volumes": [{"containerPath": "e", "external": {"name": "n", "provider": "dvdi", "options": {"dvdi/driver": "local"}}}]}}`))
	f.Add([]byte(`{"name": "j", "command": "x", "schedule": "R/2016-01-01T00:00:00Z/PT1M", "container": {"image": "i", "volumes": [{"containerPath": "/t", "external": {"name": "t", "provider": "p", "options": [{"key": "k", "value": "v"}]}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"m.yaml", "m.json", "templates/m.berth.yaml"} {
			set, err := Load(fstest.MapFS{name: {Data: data}, "t.ctmpl": {Data: []byte("x")}})
			if err == nil {
				if _, err := set.Canonical(); err != nil {
					t.Fatalf("canonical: %v", err)
				}
				files, err := set.Files()
				if err != nil {
					continue
				}
				for n, b := range files {
					if _, err := Format(n, b); err != nil {
						t.Fatalf("format of written %s: %v", n, err)
					}
				}
			}
		}
	})
}

// FuzzImport: whatever Marathon or Chronos might send, import never panics.
func FuzzImport(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/import/*.json")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, src := range []Source{SourceMarathon, SourceChronos} {
			if set, err := Import(src, "in", data); err == nil {
				_, _ = set.Files()
			}
		}
	})
}

// FuzzFormat: formatting never panics; a file the loader can parse is
// formatted or refused as a whole, never written in a form that does not
// parse back; formatting its own output succeeds. Empty and comment-only
// files are formatted, not errors.
func FuzzFormat(f *testing.F) {
	for _, p := range []string{"testdata/format/app.in.yaml", "../examples/apps/nginx.yaml", "../examples/queues.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{"", "\n", "# only a comment\n", "---\n", "# a\n---\n# b\n", "--- # c\n", "a: 1\n---\n", "!"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Format("f.yaml", data)
		if err != nil {
			if _, perr := parseDocs(data); perr == nil && !strings.Contains(err.Error(), "without changing what it says") {
				t.Fatalf("a file the loader parses cannot be formatted: %v", err)
			}
			return
		}
		if _, err := parseDocs(out); err != nil {
			t.Fatalf("formatted output does not parse: %v\n%s", err, out)
		}
		again, err := Format("f.yaml", out)
		if err != nil {
			t.Fatalf("formatting the formatted output: %v\n%s", err, out)
		}
		_ = again // yaml.v3 may move comments on a second pass; stability is checked on real files in TestFormatGolden
	})
}
