package manifests

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<name>, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got, go test -update rewrites it):\n%s", path, diff)
	}
}

// archive is a txtar-style bundle: "-- name --" lines start each file. It
// keeps a multi-file repository readable in one testdata file.
func archive(t *testing.T, path string) fstest.MapFS {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	var name string
	var buf bytes.Buffer
	flush := func() {
		if name != "" {
			fsys[name] = &fstest.MapFile{Data: bytes.Clone(buf.Bytes())}
		}
		buf.Reset()
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		trimmed := strings.TrimRight(line, "\n")
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			flush()
			name = strings.TrimSpace(trimmed[3 : len(trimmed)-3])
			continue
		}
		if name != "" {
			buf.WriteString(line)
		}
	}
	flush()
	return fsys
}

// result renders what Load returned: the canonical set, or the error list.
func result(t *testing.T, set *Set, err error) []byte {
	t.Helper()
	var list ErrorList
	if errors.As(err, &list) {
		return []byte(list.Error() + "\n")
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	b, err := set.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLoadGolden loads each testdata/load/*.txtar as a repository and
// compares the canonical set, or the errors, with its .golden file.
func TestLoadGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/load/*.txtar")
	if len(files) == 0 {
		t.Fatal("no testdata/load/*.txtar")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txtar")
		t.Run(name, func(t *testing.T) {
			set, err := Load(archive(t, f))
			golden(t, "load/"+name+".golden", result(t, set, err))
		})
	}
}

// TestExamples keeps examples/ valid and its normalised form reviewed.
func TestExamples(t *testing.T) {
	set, err := LoadDir("../examples")
	golden(t, "examples.golden.json", result(t, set, err))
	if err != nil {
		return
	}
	for _, id := range []string{"/nginx", "/nginx-1", "/nginx-2", "/tomcat-1", "/basic-0"} {
		if set.App(id) == nil {
			t.Errorf("examples: app %s missing", id)
		}
	}
	if j := set.Job("chronos-nginx-report"); j == nil || len(j.Parents) != 1 {
		t.Errorf("examples: dependent job missing: %+v", j)
	}
	if tp := set.Template("/nginx-upstream"); tp == nil || !strings.Contains(tp.Contents, `service "nginx"`) {
		t.Errorf("examples: template source not read: %+v", tp)
	}
}

// TestImportGolden imports each testdata/import/{marathon,chronos}-*.json and
// compares the files written (or the errors) with its .golden file.
func TestImportGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/import/*.json")
	if len(files) == 0 {
		t.Fatal("no testdata/import/*.json")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src := SourceMarathon
			if strings.HasPrefix(name, "chronos-") {
				src = SourceChronos
			}
			set, err := Import(src, filepath.Base(f), data)
			var list ErrorList
			if errors.As(err, &list) {
				golden(t, "import/"+name+".golden", []byte(list.Error()+"\n"))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := set.Files()
			if err != nil {
				t.Fatal(err)
			}
			// What import writes must load back to the same set, already
			// formatted.
			fsys := fstest.MapFS{}
			var b bytes.Buffer
			for _, name := range sortedKeys(out) {
				fsys[name] = &fstest.MapFile{Data: out[name]}
				b.WriteString("-- " + name + " --\n")
				b.Write(out[name])
				formatted, err := Format(name, out[name])
				if err != nil || !bytes.Equal(formatted, out[name]) {
					t.Errorf("%s: import output is not formatted (err %v)", name, err)
				}
			}
			golden(t, "import/"+name+".golden", b.Bytes())
			// Like import, the reload does not check references: an app's
			// secrets name Secrets that are not part of an import.
			rl := newLoader(fsys)
			rl.skipReferences = true
			for _, name := range sortedKeys(out) {
				rl.addFile(name, out[name])
			}
			reloaded, err := rl.finish()
			if err != nil {
				t.Fatalf("import output does not load: %v", err)
			}
			a, _ := set.Canonical()
			b2, _ := reloaded.Canonical()
			if diff := cmp.Diff(string(a), string(b2)); diff != "" {
				t.Errorf("import output loads to a different set (-imported +reloaded):\n%s", diff)
			}
		})
	}
}

// TestFormatGolden formats testdata/format/*.{yaml,json} and checks the
// result against .golden, and that formatting is idempotent.
func TestFormatGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/format/*.in.*")
	if len(files) == 0 {
		t.Fatal("no testdata/format/*.in.*")
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Format(name, data)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "format/"+strings.Replace(name, ".in.", ".golden.", 1), out)
			again, err := Format(name, out)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("formatting is not idempotent (err %v):\n%s", err, again)
			}
		})
	}
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
