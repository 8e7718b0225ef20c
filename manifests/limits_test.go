package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
)

// aliasBomb is a file of docs YAML documents, each a list whose every level
// aliases the one below four times: 4^levels leaves from a few lines.
func aliasBomb(docs, levels int, leaf string) []byte {
	var b strings.Builder
	for d := range docs {
		if d > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, "- &d%dl0 %s\n", d, leaf)
		for l := 1; l <= levels; l++ {
			fmt.Fprintf(&b, "- &d%dl%d [*d%dl%d, *d%dl%d, *d%dl%d, *d%dl%d]\n", d, l, d, l-1, d, l-1, d, l-1, d, l-1)
		}
	}
	return []byte(b.String())
}

// allocated returns the bytes f allocates, which bounds the memory it can
// have held (a measure of memory, not of time).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func wantRefused(t *testing.T, err error, file, text string) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("want an ErrorList naming %s, got %v", file, err)
	}
	for _, e := range list {
		if e.File == file && strings.Contains(e.Message, text) {
			return
		}
	}
	t.Fatalf("no error on %s saying %q in:\n%v", file, text, err)
}

// TestLoadBudgetAliasBomb: a 1.2 KB file of two documents (which used to get
// a budget each) whose aliases fan out is refused, naming the file, after
// allocating a few MiB, where it used to take hundreds.
func TestLoadBudgetAliasBomb(t *testing.T) {
	for name, leaf := range map[string]string{
		"errors": "zz", // every leaf an error: the error list used to grow without bound
		"apps":   "{kind: App, id: /a, cmd: x, env: {A: a, B: b, C: c, D: d}}",
	} {
		t.Run(name, func(t *testing.T) {
			data := aliasBomb(2, 15, leaf)
			if len(data) > 1300 {
				t.Fatalf("the bomb is %d bytes; it should stay small", len(data))
			}
			var err error
			n := allocated(func() { _, err = Load(fstest.MapFS{"bomb.yaml": {Data: data}}) })
			wantRefused(t, err, "bomb.yaml", "decoding stopped here")
			if n > 128<<20 {
				t.Errorf("loading a %d-byte bomb allocated %d MiB", len(data), n>>20)
			}
			t.Logf("%d bytes in, %d MiB allocated", len(data), n>>20)
		})
	}
}

// TestLoadBudgetFileSize: a 10 MB file is refused by its size, before it is
// read or parsed; so is a commit whose files add up to too much.
func TestLoadBudgetFileSize(t *testing.T) {
	big := bytes.Repeat([]byte("# padding\n"), 1_000_000)
	fsys := fstest.MapFS{"a.yaml": {Data: []byte("kind: App\nid: /a\ncmd: x\n")}, "huge.yaml": {Data: big}}
	var err error
	n := allocated(func() { _, err = Load(fsys) })
	wantRefused(t, err, "huge.yaml", "file too large")
	if n > 1<<20 {
		t.Errorf("refusing a 10 MB file allocated %d KiB", n>>10)
	}
	_, err = LoadBytes("huge.yaml", big)
	wantRefused(t, err, "huge.yaml", "file too large")

	many := fstest.MapFS{}
	chunk := bytes.Repeat([]byte("#\n"), (MaxFileBytes-1)/2)
	for i := range MaxLoadBytes/len(chunk) + 1 {
		many[fmt.Sprintf("f%03d.yaml", i)] = &fstest.MapFile{Data: chunk}
	}
	_, err = Load(many)
	wantRefused(t, err, fmt.Sprintf("f%03d.yaml", MaxLoadBytes/len(chunk)), "manifests too large")
}

// TestLoadBudgetErrors: past MaxErrors, decoding errors are counted, not kept.
func TestLoadBudgetErrors(t *testing.T) {
	var b strings.Builder
	for i := range MaxErrors + 10 {
		fmt.Fprintf(&b, "- {kind: App, id: /a%d, cmd: x, nope: 1}\n", i)
	}
	_, err := Load(fstest.MapFS{"m.yaml": {Data: []byte(b.String())}})
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatal(err)
	}
	if len(list) > MaxErrors+1 || !strings.Contains(list[len(list)-1].Message, "more errors not shown") {
		t.Fatalf("%d errors, last %v", len(list), list[len(list)-1])
	}
}

// BenchmarkLoadAliasBomb reports the memory a refused bomb costs.
func BenchmarkLoadAliasBomb(b *testing.B) {
	fsys := fstest.MapFS{"bomb.yaml": {Data: aliasBomb(2, 16, "{kind: App, id: /a, cmd: x, env: {A: a}}")}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(fsys); err == nil {
			b.Fatal("bomb loaded")
		}
	}
}

// TestValueBounds: absurd sizes, NaN and ids with dot segments are errors
// naming the field, not values the allocator or the rollout then trips on.
func TestValueBounds(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"a billion instances", "kind: App\nid: /a\ncmd: x\ninstances: 1e9\n", "a.yaml:4:12: instances: must be between 0 and 10000, found 1e+09"},
		{"cpus 1e308", "kind: App\nid: /a\ncmd: x\ncpus: 1e308\n", "cpus: must be between 0 and 1024, found 1e+308"},
		{"cpus NaN", "kind: App\nid: /a\ncmd: x\ncpus: \"NaN\"\n", "cpus: expected a number"},
		{"cpus infinite", "kind: App\nid: /a\ncmd: x\ncpus: .inf\n", "cpus: "},
		{"mem", "kind: App\nid: /a\ncmd: x\nmem: 1e12\n", "mem: must be between 0 and 16777216"},
		{"backoff", "kind: App\nid: /a\ncmd: x\nbackoffSeconds: 1e300\n", "backoffSeconds: must be between 0 and 31536000"},
		{"health check interval", "kind: App\nid: /a\ncmd: x\nhealthChecks: [{protocol: COMMAND, command: {value: 'true'}, intervalSeconds: 9007199254740992}]\n", "intervalSeconds: must be between 0 and 31536000"},
		{"job retries", "kind: Job\nname: j\ncommand: x\nschedule: R/2026-01-01T00:00:00Z/PT1H\nretries: 1e6\n", "retries: must be between 0 and 1000"},
		{"relative id above the root", "kind: App\nid: ../x\ncmd: x\n", `id: "/../x" is not a valid id: ".." is not allowed`},
		{"absolute id with ..", "kind: App\nid: /a/../b\ncmd: x\n", `id: "/a/../b" is not a valid id`},
		{"id with .", "kind: App\nid: ./x\ncmd: x\n", `id: "/./x" is not a valid id`},
		{"template id", "kind: Template\nid: ../t\ndestination: /tmp/t\ncontents: x\n", `id: "/../t" is not a valid id`},
		{"group id", `{"id": "/g", "groups": [{"id": "..", "apps": [{"id": "x", "cmd": "x"}]}]}`, `"/g/../x" is not a valid id`},
		{"dependency above the root", "kind: App\nid: /a\ncmd: x\ndependencies: [../../db]\n", `/../../db`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("a.yaml", []byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v\nwant an error containing %q", err, tt.want)
			}
		})
	}
	// Within bounds, and ".." in a dependency that stays inside the tree, load.
	ok := "kind: App\nid: /g/a\ncmd: x\ninstances: 10000\ncpus: 1024\ndependencies: [../h/b]\n---\nkind: App\nid: /h/b\ncmd: x\n"
	if _, err := LoadBytes("a.yaml", []byte(ok)); err != nil {
		t.Fatal(err)
	}
}
