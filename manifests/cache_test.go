package manifests

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// cacheInputs are the repositories the cached loader must agree on with the
// plain one: every golden load case, the examples, the import fixtures (read
// as JSON and as YAML), and hostile shapes.
func cacheInputs(t *testing.T) map[string]fs.FS {
	t.Helper()
	in := map[string]fs.FS{"examples": os.DirFS("../examples")}
	files, _ := filepath.Glob("testdata/load/*.txtar")
	if len(files) == 0 {
		t.Fatal("no testdata/load/*.txtar")
	}
	for _, f := range files {
		in[strings.TrimSuffix(filepath.Base(f), ".txtar")] = archive(t, f)
	}
	// Marathon and Chronos exports, as the JSON files a repository may hold.
	imports, _ := filepath.Glob("testdata/import/*.json")
	for _, f := range imports {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in["import/"+filepath.Base(f)] = fstest.MapFS{"export.json": {Data: data}, "export.yaml": {Data: data}}
	}
	for i, doc := range []string{
		"a: &app {x: 1}\n? *app\n: {id: /x}\n",
		"kind: App\nid: /a\ncmd: x\nenv: &env {A: \"1\"}\nlabels: *env\n",
		"kind: App\nid: /a\ncmd: x\n---\nkind: App\nid: /a\ncmd: [\n",
		"a: &a [*a]\n",
		"# head\nkind: App # line\nid: /a\ncmd: 'x'\n# foot\n",
	} {
		in["shape"+string(rune('a'+i))] = fstest.MapFS{"s.yaml": {Data: []byte(doc)}}
	}
	in["json"] = fstest.MapFS{"j.json": {Data: []byte("{\"id\":\"\\/a\",\t\"cmd\":\"x\"}")}, "bad.json": {Data: []byte("{\"id\":,}")}}
	return in
}

// loadResult is what a load returned, in a form go-cmp compares: the set
// and each error's fields.
type loadResult struct {
	Set  *Set
	Errs []Error
	Err  string
}

func resultOf(set *Set, err error) loadResult {
	r := loadResult{Set: set}
	if list, ok := err.(ErrorList); ok {
		for _, e := range list {
			r.Errs = append(r.Errs, *e)
		}
	} else if err != nil {
		r.Err = err.Error()
	}
	return r
}

// roundTrip saves c and reads it back into a fresh cache, as a second run
// of berth diff would.
func roundTrip(t *testing.T, c *ParseCache) *ParseCache {
	t.Helper()
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	warm := NewParseCache()
	if _, err := warm.ReadFrom(&buf); err != nil {
		t.Fatalf("reading a cache just written: %v", err)
	}
	return warm
}

// TestParseCacheEqualsLoad: a cold cache, a cache shared by two loads, and a
// cache saved and read back all give exactly what Load gives, errors and
// positions included, and a warm cache parses nothing.
func TestParseCacheEqualsLoad(t *testing.T) {
	for name, fsys := range cacheInputs(t) {
		t.Run(name, func(t *testing.T) {
			want := resultOf(Load(fsys))
			c := NewParseCache()
			if diff := cmp.Diff(want, resultOf(LoadCached(fsys, c))); diff != "" {
				t.Fatalf("cold cache differs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, resultOf(LoadCached(fsys, c))); diff != "" {
				t.Fatalf("second load through one cache differs (-want +got):\n%s", diff)
			}
			warm := roundTrip(t, c)
			if diff := cmp.Diff(want, resultOf(LoadCached(fsys, warm))); diff != "" {
				t.Fatalf("warm cache differs (-want +got):\n%s", diff)
			}
			if warm.Dirty() {
				t.Errorf("a warm cache parsed a file again")
			}
		})
	}
}

// TestParseCacheNodes: the nodes read back from an entry are the nodes the
// YAML parser made, comments, styles and aliases included.
func TestParseCacheNodes(t *testing.T) {
	for name, fsys := range cacheInputs(t) {
		_ = fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return nil
			}
			data, _ := fs.ReadFile(fsys, p)
			want := parseFile(p, data, strings.HasSuffix(p, ".json"))
			b, err := encodeParsed(want)
			if err == errNotCacheable && strings.Contains(string(data), "&a [*a]") {
				return nil // an anchor holding its own alias is never cached
			}
			if err != nil {
				t.Errorf("%s/%s: encode: %v", name, p, err)
				return nil
			}
			got, err := decodeParsed(p, b)
			if err != nil {
				t.Errorf("%s/%s: decode: %v", name, p, err)
				return nil
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("%s/%s: nodes differ after a round trip", name, p)
			}
			return nil
		})
	}
}

// TestParseCacheCorrupt: a cache damaged anywhere, truncated, of another
// version, or holding a malformed entry is ignored, and loads stay exact.
func TestParseCacheCorrupt(t *testing.T) {
	fsys := cacheInputs(t)["examples"]
	want := resultOf(Load(fsys))
	c := NewParseCache()
	_, _ = LoadCached(fsys, c)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	damaged := map[string][]byte{
		"empty":       nil,
		"truncated":   good[:len(good)/2],
		"no checksum": good[:len(good)-32],
		"old version": append([]byte("berth-parse-cache v0\n"), good[len(cacheMagic):]...),
	}
	for _, at := range []int{0, len(cacheMagic) + 3, len(good) / 2, len(good) - 1} {
		b := bytes.Clone(good)
		b[at] ^= 0x40
		damaged["flipped byte "+strconv.Itoa(at)] = b
	}
	for name, b := range damaged {
		t.Run(name, func(t *testing.T) {
			cc := NewParseCache()
			if _, err := cc.ReadFrom(bytes.NewReader(b)); err == nil {
				t.Fatalf("a damaged cache was accepted")
			}
			if cc.Len() != 0 {
				t.Fatalf("a rejected cache kept %d entries", cc.Len())
			}
			if diff := cmp.Diff(want, resultOf(LoadCached(fsys, cc))); diff != "" {
				t.Fatalf("load differs (-want +got):\n%s", diff)
			}
		})
	}

	// An entry that passes the checksum but whose payload is malformed (a
	// foreign writer) is parsed afresh and replaced.
	t.Run("malformed entry", func(t *testing.T) {
		cc := roundTrip(t, c)
		for k, v := range cc.old {
			cc.old[k] = v[:len(v)/2]
		}
		if diff := cmp.Diff(want, resultOf(LoadCached(fsys, cc))); diff != "" {
			t.Fatalf("load differs (-want +got):\n%s", diff)
		}
		if !cc.Dirty() {
			t.Errorf("malformed entries were not replaced")
		}
	})
}

// FuzzParseCacheEntry: whatever bytes an entry holds, reading it never
// panics, and what it accepts the loader can use without panicking or
// hanging (no alias cycles) and round-trips through the writer.
func FuzzParseCacheEntry(f *testing.F) {
	for _, doc := range []string{
		"kind: App\nid: /a\ncmd: x\nenv: &env {A: \"1\"}\nlabels: *env\n",
		"a: &a [1, 2]\nb: *a\n---\n- x\n",
		"kind: App\nid: [\n",
	} {
		if b, err := encodeParsed(parseFile("f.yaml", []byte(doc), false)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		p, err := decodeParsed("f.yaml", payload)
		if err != nil {
			return
		}
		b, err := encodeParsed(p)
		if err != nil {
			t.Fatalf("an accepted entry cannot be written back: %v", err)
		}
		again, err := decodeParsed("f.yaml", b)
		if err != nil || !reflect.DeepEqual(p, again) {
			t.Fatalf("an accepted entry is not read back the same after writing: %v", err)
		}
		l := newLoader(emptyFS{})
		l.addParsed(p)
		_, _ = l.finish()
	})
}

// FuzzParseCacheRead: whatever a cache file holds, reading it never panics
// and a load through it is exactly a plain load.
func FuzzParseCacheRead(f *testing.F) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte("kind: App\nid: /a\ncmd: x\nlabels: {a: b}\n")}}
	c := NewParseCache()
	_, _ = LoadCached(fsys, c)
	var buf bytes.Buffer
	_, _ = c.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(cacheMagic))
	want := resultOf(Load(fsys))
	f.Fuzz(func(t *testing.T, data []byte) {
		cc := NewParseCache()
		if _, err := cc.ReadFrom(bytes.NewReader(data)); err != nil {
			return
		}
		if diff := cmp.Diff(want, resultOf(LoadCached(fsys, cc))); diff != "" {
			t.Fatalf("load through a cache that passed its checksum differs:\n%s", diff)
		}
	})
}

// BenchmarkLoadCached loads 5,000 one-app files plainly and through a warm
// cache: the difference is what the cache saves per load.
func BenchmarkLoadCached(b *testing.B) {
	fsys := fstest.MapFS{}
	for i := range 5000 {
		fsys[fmt.Sprintf("apps/team%02d/app%05d.yaml", i%50, i)] = &fstest.MapFile{Data: fmt.Appendf(nil,
			"kind: App\nid: /team%02d/app%05d\ninstances: 3\ncpus: 0.25\nmem: 64\ncontainer:\n  type: DOCKER\n  docker:\n    image: berth/web:dev\n"+
				"  portMappings:\n    - {containerPort: 80, hostPort: 0}\nnetworks: [{mode: container/bridge}]\n"+
				"healthChecks:\n  - {protocol: HTTP, path: /health, portIndex: 0}\nlabels:\n  owner: team%02d\n", i%50, i, i%50)}
	}
	warm := NewParseCache()
	if _, err := LoadCached(fsys, warm); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"none", "warm"} {
		b.Run("cache="+mode, func(b *testing.B) {
			c := warm
			if mode == "none" {
				c = nil
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := LoadCached(fsys, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
