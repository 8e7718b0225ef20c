package fetch

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/berthops/berth/cluster"
)

// entry is one member of a test archive.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func tarOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := w.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func xzOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := xz.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var out bytes.Buffer
	w := zip.NewWriter(&out)
	for name, body := range files {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(body))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// server serves files on loopback and counts the requests for each.
type server struct {
	*httptest.Server
	hits  map[string]*atomic.Int32
	files map[string][]byte
}

func serve(t *testing.T, files map[string][]byte) *server {
	t.Helper()
	s := &server{files: files, hits: map[string]*atomic.Int32{}}
	for p := range files {
		s.hits[p] = &atomic.Int32{}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		b, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.hits[r.URL.Path].Add(1)
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

func newFetcher(t *testing.T, opts Options) *Fetcher {
	t.Helper()
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFetchExtractsEveryArchiveKind(t *testing.T) {
	site := tarOf(t, entry{name: "site/", typ: tar.TypeDir, mode: 0o755}, entry{name: "site/index.html", body: "hello\n"},
		entry{name: "site/current", typ: tar.TypeSymlink, link: "index.html"}, entry{name: "run.sh", body: "#!/bin/sh\n", mode: 0o755})
	bz2, err := os.ReadFile("testdata/site.tar.bz2")
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, map[string][]byte{
		"/site.tar":     site,
		"/site.tar.gz":  gzipOf(t, site),
		"/site.tgz":     gzipOf(t, site),
		"/site.tar.xz":  xzOf(t, site),
		"/site.txz":     xzOf(t, site),
		"/site.zip":     zipOf(t, map[string]string{"site/index.html": "hello\n", "site/": ""}),
		"/site.tar.bz2": bz2,
	})
	f := newFetcher(t, Options{})
	for _, name := range []string{"site.tar", "site.tar.gz", "site.tgz", "site.tar.xz", "site.txz", "site.zip", "site.tar.bz2"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := f.Fetch(context.Background(), dir, []cluster.Artifact{{URI: srv.URL + "/" + name, Extract: true}}); err != nil {
				t.Fatal(err)
			}
			want := "hello\n"
			if name == "site.tar.bz2" {
				want = "hello from bz2\n"
			}
			if got := read(t, filepath.Join(dir, "site/index.html")); got != want {
				t.Errorf("site/index.html = %q, want %q", got, want)
			}
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("the archive itself is not kept in the sandbox, as Mesos kept it: %v", err)
			}
			if strings.HasPrefix(name, "site.t") && name != "site.tar.bz2" {
				if got := read(t, filepath.Join(dir, "site/current")); got != want {
					t.Errorf("symlink site/current reads %q", got)
				}
				if fi, err := os.Stat(filepath.Join(dir, "run.sh")); err != nil || fi.Mode().Perm() != 0o755 {
					t.Errorf("run.sh mode = %v, %v; want 0755 from the archive", fi.Mode(), err)
				}
			}
		})
	}
}

func TestFetchPlainFilesModesAndNames(t *testing.T) {
	site := gzipOf(t, tarOf(t, entry{name: "index.html", body: "x"}))
	srv := serve(t, map[string][]byte{"/tools/pinger.py": []byte("print(1)\n"), "/a/site.tgz": site})
	file := filepath.Join(t.TempDir(), "local.txt")
	if err := os.WriteFile(file, []byte("from file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	err := newFetcher(t, Options{}).Fetch(context.Background(), dir, []cluster.Artifact{
		{URI: srv.URL + "/tools/pinger.py", Extract: true, Executable: true},
		{URI: srv.URL + "/a/site.tgz", Extract: false, DestPath: "pkg/renamed.tgz"},
		{URI: "file://" + file},
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "pinger.py")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("pinger.py: %v %v, want mode 0755", fi, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pkg/renamed.tgz")); err != nil {
		t.Errorf("destPath: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); !os.IsNotExist(err) {
		t.Errorf("extract: false extracted anyway (%v)", err)
	}
	if got := read(t, filepath.Join(dir, "local.txt")); got != "from file\n" {
		t.Errorf("file URI: %q", got)
	}
}

func TestFetchCacheIsReusedAcrossSandboxes(t *testing.T) {
	srv := serve(t, map[string][]byte{"/big.tgz": gzipOf(t, tarOf(t, entry{name: "data", body: "d"})), "/plain": []byte("p")})
	f := newFetcher(t, Options{CacheDir: filepath.Join(t.TempDir(), "cache")})
	for range 3 {
		dir := t.TempDir()
		err := f.Fetch(context.Background(), dir, []cluster.Artifact{
			{URI: srv.URL + "/big.tgz", Extract: true, Cache: true},
			{URI: srv.URL + "/plain"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := read(t, filepath.Join(dir, "data")); got != "d" {
			t.Fatalf("data = %q", got)
		}
	}
	if n := srv.hits["/big.tgz"].Load(); n != 1 {
		t.Errorf("cached URI fetched %d times, want once", n)
	}
	if n := srv.hits["/plain"].Load(); n != 3 {
		t.Errorf("uncached URI fetched %d times, want 3", n)
	}
}

func TestFetchFailures(t *testing.T) {
	srv := serve(t, map[string][]byte{"/big": bytes.Repeat([]byte("x"), 2048), "/bomb.tgz": gzipOf(t, tarOf(t, entry{name: "zeros", body: strings.Repeat("0", 4096)})),
		"/bad.tgz": []byte("not gzip")})
	f := newFetcher(t, Options{MaxBytes: 1024, MaxExtractedBytes: 1024, Timeout: 300 * time.Millisecond})
	u := srv.URL
	for _, tc := range []struct {
		name, uri, want string
		is              error
	}{
		{"not found", u + "/missing.tgz", "HTTP 404", nil},
		{"too large", u + "/big", "over the size limit", ErrTooLarge},
		{"unpacks too large", u + "/bomb.tgz", "unpacks to more than 1024 bytes", ErrTooLarge},
		{"corrupt archive", u + "/bad.tgz", "extract bad.tgz", nil},
		{"timeout", u + "/slow", "deadline exceeded", context.DeadlineExceeded},
		{"password redacted", "http://user:secret@127.0.0.1:1/x", "user:xxxxx@", nil},
		{"missing file", "file:///nonexistent/x", "no such file", nil},
		{"no name", "file:///", "names no file", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.Fetch(context.Background(), t.TempDir(), []cluster.Artifact{{URI: tc.uri, Extract: true}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the password leaks: %v", err)
			}
			var fe *Error
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "fetch http") && !strings.HasPrefix(err.Error(), "fetch file") {
				t.Errorf("err = %v: want it to start with the URI", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tc.is)
			}
		})
	}
}

// Archives that try to leave the sandbox, or hold what a sandbox must not.
func TestExtractRefusesHostileArchives(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"dot-dot", []entry{{name: "../escape", body: "x"}}, "outside the sandbox"},
		{"absolute", []entry{{name: "/tmp/escape", body: "x"}}, "outside the sandbox"},
		{"symlink absolute", []entry{{name: "etc", typ: tar.TypeSymlink, link: "/etc"}}, "leads outside"},
		{"symlink up", []entry{{name: "a/up", typ: tar.TypeSymlink, link: "../../.."}}, "leads outside"},
		{"through symlink", []entry{{name: "d", typ: tar.TypeDir, mode: 0o755}, {name: "d/up", typ: tar.TypeSymlink, link: ".."},
			{name: "d/up/../../escape", body: "x"}, {name: "d/up/up2", typ: tar.TypeSymlink, link: "../.."}}, "leads outside"},
		{"hard link out", []entry{{name: "h", typ: tar.TypeLink, link: "../../etc/passwd"}}, "leads outside"},
		{"device", []entry{{name: "null", typ: tar.TypeChar}}, "character device"},
		{"fifo", []entry{{name: "pipe", typ: tar.TypeFifo}}, "FIFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "sandbox")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "a.tar"), tarOf(t, tc.entries...), 0o644)
			err := extractFile(t, dir, "a.tar")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			checkConfined(t, parent)
		})
	}
}

func extractFile(t testing.TB, dir, name string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	return extract(context.Background(), root, f, st.Size(), archiveKind(name), 1<<20)
}

// checkConfined fails if anything but the sandbox exists in parent, or a
// symlink in the sandbox points outside it.
func checkConfined(t testing.TB, parent string) {
	t.Helper()
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if e.Name() != "sandbox" {
			t.Fatalf("%s was written outside the sandbox", e.Name())
		}
	}
	sandbox := filepath.Join(parent, "sandbox")
	filepath.WalkDir(sandbox, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeSymlink == 0 {
			return nil
		}
		target, _ := os.Readlink(p)
		rel, _ := filepath.Rel(sandbox, filepath.Join(filepath.Dir(p), target))
		if filepath.IsAbs(target) || !filepath.IsLocal(rel) {
			t.Fatalf("symlink %s -> %s leads outside the sandbox", p, target)
		}
		return nil
	})
}

func TestIsArchiveFollowsMarathon(t *testing.T) {
	for name, want := range map[string]bool{"a.tgz": true, "a.tar.gz": true, "a.tbz2": true, "a.tar.bz2": true, "a.txz": true,
		"a.tar.xz": true, "a.zip": true, "a.tar": true, "a.war": false, "a.py": false, "a.gz": false} {
		if got := IsArchive(name); got != want {
			t.Errorf("IsArchive(%q) = %v, want %v", name, got, want)
		}
	}
}
