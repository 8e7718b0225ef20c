package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/manifests"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// readSet reads a manifest set written as JSON and gives every object an
// origin, as the loader would, so the goldens show where changes come from.
func readSet(t *testing.T, file string) *manifests.Set {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var s manifests.Set
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	at := func(dir, id string, line int) manifests.Origin {
		return manifests.Origin{File: dir + "/" + strings.TrimPrefix(id, "/") + ".yaml", Line: line, Col: 1}
	}
	for i := range s.Apps {
		s.Apps[i].Origin = at("apps", s.Apps[i].ID, 1)
	}
	for i := range s.Jobs {
		s.Jobs[i].Origin = at("jobs", s.Jobs[i].Name, 2)
	}
	for i := range s.Templates {
		s.Templates[i].Origin = at("templates", s.Templates[i].ID, 3)
	}
	for i := range s.Queues {
		s.Queues[i].Origin = manifests.Origin{File: "queues.yaml", Line: 1 + 4*i, Col: 3}
	}
	return &s
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", file, d)
	}
}

// TestGolden plans every case in testdata/cases and renders it in every
// format: base.json is the applied set, head.json the desired one,
// observed-apps.json optional runtime facts, fit.json an allocator verdict,
// now.txt the moment schedule previews are seen from.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/cases/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			obs := Observed{Applied: readSet(t, filepath.Join(dir, "base.json"))}
			if b, err := os.ReadFile(filepath.Join(dir, "observed-apps.json")); err == nil {
				if err := json.Unmarshal(b, &obs.Apps); err != nil {
					t.Fatal(err)
				}
			}
			desired := readSet(t, filepath.Join(dir, "head.json"))
			p := Compute(desired, obs)
			// Schedule previews are seen from now.txt's moment, or from a
			// fixed one, so the goldens never depend on the clock.
			now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			if b, err := os.ReadFile(filepath.Join(dir, "now.txt")); err == nil {
				if now, err = time.Parse(time.RFC3339, strings.TrimSpace(string(b))); err != nil {
					t.Fatal(err)
				}
			}
			AddSchedulePreviews(p, desired, obs.Applied, PreviewOptions{Now: now})
			if b, err := os.ReadFile(filepath.Join(dir, "fit.json")); err == nil {
				p.Fit = &Fit{}
				if err := json.Unmarshal(b, p.Fit); err != nil {
					t.Fatal(err)
				}
			}
			h := Header{Base: Revision{Ref: "main", Commit: "1111111111111111111111111111111111111111"},
				Head: Revision{Ref: "feature", Commit: "2222222222222222222222222222222222222222"}}
			var txt, color, md, js bytes.Buffer
			if err := WriteText(&txt, p, h, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := WriteText(&color, p, h, TextOptions{Color: true}); err != nil {
				t.Fatal(err)
			}
			if err := WriteMarkdown(&md, p, h); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&js, p, h); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, "want.txt"), txt.Bytes())
			golden(t, filepath.Join(dir, "want.color.txt"), color.Bytes())
			golden(t, filepath.Join(dir, "want.md"), md.Bytes())
			golden(t, filepath.Join(dir, "want.json"), js.Bytes())
		})
	}
}

func TestClassify(t *testing.T) {
	base := manifests.App{ID: "/a", Cmd: "x", Instances: 1, CPUs: 1, Labels: map[string]string{"a": "1"}}
	tests := []struct {
		name   string
		change func(a *manifests.App)
		want   UpdateKind
	}{
		{"instances only", func(a *manifests.App) { a.Instances = 4 }, UpdateScale},
		{"labels only", func(a *manifests.App) { a.Labels = map[string]string{"a": "2"} }, UpdateConfig},
		{"labels and instances", func(a *manifests.App) { a.Labels = nil; a.Instances = 0 }, UpdateConfig},
		{"backoff", func(a *manifests.App) { a.BackoffSeconds = 3 }, UpdateConfig},
		{"dependencies", func(a *manifests.App) { a.Dependencies = []string{"/b"} }, UpdateConfig},
		{"cmd", func(a *manifests.App) { a.Cmd = "y" }, UpdateRestart},
		{"cpus and instances", func(a *manifests.App) { a.CPUs = 2; a.Instances = 2 }, UpdateRestart},
		{"image", func(a *manifests.App) {
			a.Container = &manifests.Container{Type: "DOCKER", Docker: &manifests.Docker{Image: "i"}}
		}, UpdateRestart},
		{"constraints", func(a *manifests.App) {
			a.Constraints = []manifests.Constraint{{Field: "hostname", Operator: manifests.OpUnique}}
		}, UpdateRestart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := base
			head.Labels = map[string]string{"a": "1"}
			tt.change(&head)
			p := Compute(&manifests.Set{Apps: []manifests.App{head}}, Observed{Applied: &manifests.Set{Apps: []manifests.App{base}}})
			if len(p.Changes) != 1 {
				t.Fatalf("got %d changes, want 1: %+v", len(p.Changes), p.Changes)
			}
			if got := p.Changes[0].Update; got != tt.want {
				t.Errorf("update = %s, want %s (fields %+v)", got, tt.want, p.Changes[0].Fields)
			}
		})
	}
}

// TestMovedObjectIsUnchanged: Origin is not identity, so moving a manifest to
// another file plans nothing.
func TestMovedObjectIsUnchanged(t *testing.T) {
	a := manifests.App{ID: "/a", Cmd: "x", Instances: 1, Origin: manifests.Origin{File: "a.yaml", Line: 1}}
	b := a
	b.Origin = manifests.Origin{File: "moved/a.yaml", Line: 7}
	p := Compute(&manifests.Set{Apps: []manifests.App{b}}, Observed{Applied: &manifests.Set{Apps: []manifests.App{a}}})
	if !p.Empty() || p.Unchanged != 1 {
		t.Fatalf("plan = %+v, want no change and 1 unchanged", p)
	}
}

// TestDeterministic plans the same change many times, with the inputs in
// different orders, and expects byte-identical output.
func TestDeterministic(t *testing.T) {
	head := readSet(t, "testdata/cases/order/head.json")
	base := readSet(t, "testdata/cases/order/base.json")
	render := func(h, b *manifests.Set) string {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, Compute(h, Observed{Applied: b}), Header{}); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	want := render(head, base)
	for i := 0; i < 20; i++ {
		h := *head
		h.Apps = append([]manifests.App(nil), head.Apps...)
		for j := range h.Apps {
			k := (j*7 + i) % len(h.Apps)
			h.Apps[j], h.Apps[k] = h.Apps[k], h.Apps[j]
		}
		if got := render(&h, base); got != want {
			t.Fatalf("run %d differs:\n%s\nwant:\n%s", i, got, want)
		}
	}
}

func TestNilInputs(t *testing.T) {
	if p := Compute(nil, Observed{}); !p.Empty() || p.Unchanged != 0 {
		t.Fatalf("Compute(nil, empty) = %+v", p)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, nil, Header{}, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "No changes") {
		t.Fatalf("text of nil plan: %q", buf.String())
	}
}

// TestMarkdownStaysUnderTheCommentLimit plans 3,000 creates, one with a huge
// template, and expects a comment GitHub accepts that says what it left out.
func TestMarkdownStaysUnderTheCommentLimit(t *testing.T) {
	var s manifests.Set
	for i := range 3000 {
		s.Apps = append(s.Apps, manifests.App{ID: fmt.Sprintf("/app-%04d", i), Cmd: "serve", Instances: 1, CPUs: 0.1,
			Origin: manifests.Origin{File: fmt.Sprintf("apps/app-%04d.yaml", i), Line: 1}})
	}
	s.Templates = []manifests.Template{{ID: "big", Contents: strings.Repeat("x|<y>", 20000), Destination: "/tmp/big"}}
	p := Compute(&s, Observed{})
	var b bytes.Buffer
	if err := WriteMarkdown(&b, p, Header{}); err != nil {
		t.Fatal(err)
	}
	if b.Len() > MarkdownLimit {
		t.Fatalf("comment is %d bytes, limit %d", b.Len(), MarkdownLimit)
	}
	out := b.String()
	if !strings.Contains(out, "more changes are not listed") || !strings.Contains(out, "Plan: 3001 to create") {
		t.Errorf("the comment does not say what it left out:\n%s", out[len(out)-500:])
	}
	small := Compute(&manifests.Set{Templates: s.Templates}, Observed{})
	b.Reset()
	if err := WriteMarkdown(&b, small, Header{}); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 8*maxMarkdownValue || !strings.Contains(b.String(), "(100002 bytes in all)") {
		t.Errorf("a long value is not clipped (%d bytes):\n%s", b.Len(), b.String())
	}
}

// TestFieldChangesIgnoreUnexported: a value with unexported fields must not
// panic go-cmp (the manifest model may grow private fields).
func TestFieldChangesIgnoreUnexported(t *testing.T) {
	type inner struct {
		Name   string `json:"name"`
		hidden int
	}
	got := fieldChanges(inner{Name: "a", hidden: 1}, inner{Name: "b", hidden: 2})
	if len(got) != 1 || got[0].Path != "name" {
		t.Fatalf("fieldChanges = %+v, want one change of name", got)
	}
}
