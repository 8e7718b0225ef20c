package manifests

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func canonical(t *testing.T, fsys fstest.MapFS) string {
	t.Helper()
	set, err := Load(fsys)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	b, err := set.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSpellingsCompareEqual: the same intent written in Marathon's older and
// newer forms, in YAML and JSON, in one file or several, is one canonical set.
func TestSpellingsCompareEqual(t *testing.T) {
	variants := map[string]fstest.MapFS{
		"older JSON": {"a.json": {Data: []byte(`{"id": "web", "cpus": "0.5",
			"container": {"type": "DOCKER", "docker": {"image": "i", "network": "BRIDGE",
			"portMappings": [{"containerPort": 80}]}}, "dependencies": ["db", "/db"]}`)},
			"db.json": {Data: []byte(`{"id": "/db", "cmd": "run", "ports": [0]}`)}},
		"newer YAML": {"all.yaml": {Data: []byte(`kind: App
id: /db
cmd: run
portDefinitions: [{port: 0, protocol: tcp}]
---
kind: App
id: /web
cpus: 0.5
networks: [{mode: container/bridge}]
container:
  docker: {image: i}
  portMappings: [{containerPort: 80, hostPort: 0, protocol: tcp}]
dependencies: [/db]
`)}},
	}
	var first, firstName string
	for name, fsys := range variants {
		got := canonical(t, fsys)
		if first == "" {
			first, firstName = got, name
			continue
		}
		if got != first {
			t.Errorf("%s and %s differ:\n%s\n%s", firstName, name, first, got)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	list := ErrorList{
		{File: "b.yaml", Line: 2, Col: 1, Field: "cpus", Message: "x"},
		{File: "a.yaml", Line: 9, Col: 3, Message: "y"},
		{File: "a.yaml", Line: 9, Col: 3, Message: "y"},
	}.sort()
	want := "a.yaml:9:3: y\nb.yaml:2:1: cpus: x"
	if list.Error() != want {
		t.Errorf("got %q, want %q", list.Error(), want)
	}
}

func TestSuggest(t *testing.T) {
	for word, want := range map[string]string{"cpu": "cpus", "contaner": "container", "forcePull": "forcePullImage", "xyzzy": "", "INSTANCES": "instances"} {
		if got := suggest(word, []string{"cpus", "container", "forcePullImage", "instances"}); got != want {
			t.Errorf("suggest(%q) = %q, want %q", word, got, want)
		}
	}
}

// TestLoadDirSymlinkEscape: a template source that is a symbolic link out of
// the repository is refused, so a commit cannot render a node's secrets.
func TestLoadDirSymlinkEscape(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(repo, "link.ctmpl")); err != nil {
		t.Fatal(err)
	}
	manifest := "kind: Template\nid: /t\nsource: link.ctmpl\ndestination: /etc/t\n"
	if err := os.WriteFile(filepath.Join(repo, "t.berth.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadDir(repo)
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 || !strings.Contains(list[0].Error(), "t.berth.yaml:3:9: source: cannot read") {
		t.Fatalf("want one error at the source line, got %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatal("secret leaked")
	}
}

func TestLookups(t *testing.T) {
	set, err := LoadBytes("x.yaml", []byte("kind: Queue\nid: /q\ncapacity: 10\n---\nkind: App\nid: /b\ncmd: x\n---\nkind: App\nid: /a\ncmd: x\nqueue: q\n"))
	if err != nil {
		t.Fatal(err)
	}
	if set.App("/a") == nil || set.App("/b") == nil || set.App("/c") != nil || set.Queue("/q") == nil || set.Job("x") != nil || set.Template("/t") != nil {
		t.Errorf("lookups wrong: %+v", set)
	}
	if o := set.App("/b").Origin; o.File != "x.yaml" || o.Line != 5 {
		t.Errorf("origin %+v, want x.yaml:5", o)
	}
}

// TestAliases: YAML anchors work, and every use of a bad one is reported
// at the alias, not lost.
func TestAliases(t *testing.T) {
	set, err := LoadBytes("a.yaml", []byte("kind: App\nid: /a\ncmd: x\nenv: &env {A: \"1\"}\nlabels: *env\n"))
	if err != nil {
		t.Fatal(err)
	}
	if set.App("/a").Labels["A"] != "1" {
		t.Errorf("alias not followed: %+v", set.App("/a"))
	}
}

// TestHostileShapes: inputs that once could have crashed the classifier.
func TestHostileShapes(t *testing.T) {
	for _, doc := range []string{
		"a: &app {x: 1}\n? *app\n: {id: /x}\n",
		"app: 1\nb: 2\n",
		"app: [1]\n",
		"- - - []\n",
		"kind: App\nid: /x\ncmd: x\nconstraints: [[]]\n",
		"kind: App\nid: /x\ncmd: x\nhealthChecks: [{protocol: HTTP, portIndex: -1}]\n",
		"{apps: [1, [2]], groups: {a: b}, id: [x]}\n",
	} {
		_, _ = LoadBytes("h.yaml", []byte(doc))
	}
}
