package templates

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// corpusEnv is the environment every corpus render sees (also given to
// consul-template in the comparison test).
func corpusEnv(name string) (string, bool) {
	if name == "BERTH_CORPUS_VAR" {
		return "corpus-value", true
	}
	return "", false
}

// corpusDelims gives a corpus template its delimiters: the file named
// delims.tmpl exercises custom ones.
func corpusDelims(name string) Options {
	if strings.HasPrefix(filepath.Base(name), "delims") {
		return Options{LeftDelim: "[[", RightDelim: "]]"}
	}
	return Options{}
}

func loadCorpusData(t testing.TB) *CatalogData {
	t.Helper()
	raw, err := os.ReadFile("testdata/corpus/data.json")
	if err != nil {
		t.Fatal(err)
	}
	var d CatalogData
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("testdata/corpus/data.json: %v", err)
	}
	return &d
}

// renderAll runs the two-pass loop the runner runs: execute, answer what is
// missing, execute again, until the template is complete.
func renderAll(t testing.TB, tmpl *Template, data *CatalogData, now time.Time) []byte {
	t.Helper()
	snap := Snapshot{}
	for pass := 0; pass < 10; pass++ {
		res, err := tmpl.Execute(ExecInput{Data: snap, Now: now, Env: corpusEnv})
		if err != nil {
			t.Fatal(err)
		}
		if res.Complete() {
			return res.Output
		}
		for _, q := range res.Missing {
			if _, ok := snap.Recall(q); ok {
				t.Fatalf("%s: query %s still missing after it was answered", tmpl.Name(), q)
			}
			snap.Set(q, Answer(data, q))
		}
	}
	t.Fatalf("%s: not complete after 10 passes", tmpl.Name())
	return nil
}

func TestCorpusGolden(t *testing.T) {
	data := loadCorpusData(t)
	files, _ := filepath.Glob("testdata/corpus/*.tmpl")
	if len(files) == 0 {
		t.Fatal("no corpus templates")
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err := Parse(f, string(src), corpusDelims(f))
			if err != nil {
				t.Fatal(err)
			}
			got := renderAll(t, tmpl, data, now)
			golden := strings.TrimSuffix(f, ".tmpl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", f, golden, got, want)
			}
		})
	}
}
