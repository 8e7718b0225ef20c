package gitsource_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/testenv"
)

func open(t *testing.T, opts gitsource.Options) *gitsource.Source {
	t.Helper()
	s, err := gitsource.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", opts.URL, err)
	}
	return s
}

func resolve(t *testing.T, s *gitsource.Source, ref string) string {
	t.Helper()
	h, err := s.Resolve(ref)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", ref, err)
	}
	return h
}

func readAll(t *testing.T, s *gitsource.Source, commit, dir string) map[string]string {
	t.Helper()
	fsys, err := s.Tree(commit, dir)
	if err != nil {
		t.Fatalf("Tree(%s, %q): %v", commit, dir, err)
	}
	out := map[string]string{}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var first = map[string]string{
	"README.md":              "hello\n",
	"deploy/apps/web.yaml":   "kind: App\nid: /web\n",
	"deploy/apps/db.yaml":    "kind: App\nid: /db\n",
	"deploy/jobs/etl.yaml":   "kind: Job\nname: etl\n",
	"deploy/templates/a.tpl": "{{ . }}",
}

// TestLocalRepository opens a repository in place and reads commits, tags and
// subdirectories straight from the object store.
func TestLocalRepository(t *testing.T) {
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "repo.git"))
	c1 := r.Commit(t, "main", first, "first")
	c2 := r.Change(t, "main",
		map[string]string{"deploy/apps/web2.yaml": first["deploy/apps/web.yaml"], "deploy/apps/db.yaml": "kind: App\nid: /db\ninstances: 2\n"},
		[]string{"deploy/apps/web.yaml", "deploy/jobs/etl.yaml"}, "rename web, change db, delete etl")
	r.SetRef(t, "refs/tags/v1", c1)

	s := open(t, gitsource.Options{URL: r.Dir})
	for ref, want := range map[string]string{"main": c2, "HEAD": c2, "": c2, "v1": c1, "main~1": c1, c1: c1, c1[:10]: c1} {
		if got := resolve(t, s, ref); got != want {
			t.Errorf("Resolve(%q) = %s, want %s", ref, got, want)
		}
	}
	for _, bad := range []string{"nope", strings.Repeat("0", 40)} {
		if _, err := s.Resolve(bad); err == nil {
			t.Errorf("Resolve(%q) succeeded", bad)
		}
	}

	if d := cmp.Diff(first, readAll(t, s, c1, "")); d != "" {
		t.Errorf("tree of c1 (-want +got):\n%s", d)
	}
	wantSub := map[string]string{"web2.yaml": "kind: App\nid: /web\n", "db.yaml": "kind: App\nid: /db\ninstances: 2\n"}
	if d := cmp.Diff(wantSub, readAll(t, s, c2, "./deploy/apps/")); d != "" {
		t.Errorf("deploy/apps of c2 (-want +got):\n%s", d)
	}
	if _, err := s.Tree(c2, "missing"); err == nil {
		t.Error("Tree of a missing path succeeded")
	}
	if _, err := s.Tree(c2, "../x"); err == nil {
		t.Error("Tree of a path outside the repository succeeded")
	}

	changed, err := s.Changed(context.Background(), c1, c2, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apps/db.yaml", "apps/web.yaml", "apps/web2.yaml", "jobs/etl.yaml"}
	if d := cmp.Diff(want, changed); d != "" {
		t.Errorf("Changed (-want +got):\n%s", d)
	}
	if changed, _ := s.Changed(context.Background(), c1, c2, "deploy/templates"); len(changed) != 0 {
		t.Errorf("Changed in an unchanged subtree = %v", changed)
	}
}

// TestTreeFSConformance runs the standard library's fs.FS checks on a tree.
func TestTreeFSConformance(t *testing.T) {
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "repo.git"))
	c := r.Commit(t, "main", first, "first")
	s := open(t, gitsource.Options{URL: r.Dir})
	fsys, err := s.Tree(c, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "README.md", "deploy/apps/web.yaml", "deploy/templates/a.tpl"); err != nil {
		t.Fatal(err)
	}
}

type logLines struct{ bytes.Buffer }

func (l *logLines) count(s string) int { return strings.Count(l.String(), s) }

// TestRemoteOverHTTP clones through smart HTTP with basic auth, fetches
// incrementally, follows a force-pushed branch and prunes a deleted one.
func TestRemoteOverHTTP(t *testing.T) {
	testenv.Integration(t)
	srv := testenv.StartGitServerAuth(t, "ci", "s3cret-token")
	r := srv.NewRepo(t, "cluster")
	c1 := r.Commit(t, "main", first, "first")
	r.Commit(t, "feature", map[string]string{"x.yaml": "x"}, "feature")
	r.SetRef(t, "refs/tags/v1", c1)

	cache := t.TempDir()
	ctx := context.Background()
	if _, err := gitsource.Open(ctx, gitsource.Options{URL: r.URL, CacheDir: cache}); err == nil {
		t.Fatal("Open without credentials succeeded")
	}
	if _, err := gitsource.Open(ctx, gitsource.Options{URL: r.URL, CacheDir: cache, Auth: gitsource.Auth{Username: "ci", Password: "wrong"}}); err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
	var logs logLines
	opts := gitsource.Options{URL: r.URL, CacheDir: cache, Auth: gitsource.Auth{Username: "ci", Token: "s3cret-token"},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	opts.Auth.Username = "ci"
	s := open(t, opts)
	if got := resolve(t, s, "main"); got != c1 {
		t.Fatalf("main = %s, want %s", got, c1)
	}
	if got := resolve(t, s, "v1"); got != c1 {
		t.Fatalf("tag v1 = %s, want %s", got, c1)
	}
	if got := resolve(t, s, "HEAD"); got != c1 {
		t.Fatalf("HEAD = %s, want %s (the remote's HEAD is main)", got, c1)
	}

	// New commit, a force push that rewrites main, and a deleted branch.
	r.Change(t, "main", map[string]string{"deploy/apps/new.yaml": "kind: App\nid: /new\n"}, nil, "second")
	r.SetRef(t, "refs/heads/main", c1)
	rewritten := r.Change(t, "main", map[string]string{"deploy/apps/web.yaml": "kind: App\nid: /web\ninstances: 9\n"}, nil, "rewritten")
	r.DeleteRef(t, "refs/heads/feature")
	if err := s.Fetch(ctx); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got := resolve(t, s, "main"); got != rewritten {
		t.Fatalf("after force push main = %s, want %s", got, rewritten)
	}
	if _, err := s.Resolve("feature"); err == nil {
		t.Error("a branch deleted on the remote still resolves")
	}
	if got := readAll(t, s, rewritten, "deploy/apps")["web.yaml"]; got != "kind: App\nid: /web\ninstances: 9\n" {
		t.Errorf("web.yaml after force push = %q", got)
	}

	// Opening again reuses the cache: one clone in all.
	s2 := open(t, opts)
	if got := resolve(t, s2, "main"); got != rewritten {
		t.Fatalf("reopened main = %s", got)
	}
	if n := logs.count("msg=cloning "); n != 1 {
		t.Errorf("cloned %d times, want once (fetches must be incremental):\n%s", n, logs.String())
	}
}

// TestCorruptCacheIsRecloned damages the cache in the ways a crash or a full
// disk does and expects a fresh clone every time, never a wrong answer.
func TestCorruptCacheIsRecloned(t *testing.T) {
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "repo.git"))
	c1 := r.Commit(t, "main", first, "first")
	cache := t.TempDir()
	var logs logLines
	opts := gitsource.Options{URL: r.FileURL(), CacheDir: cache, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	open(t, opts)
	dirs, _ := filepath.Glob(filepath.Join(cache, "repo.git-*"))
	var dir string
	for _, d := range dirs {
		if !strings.HasSuffix(d, ".lock") {
			dir = d
		}
	}
	if dir == "" {
		t.Fatalf("no cache directory in %v", dirs)
	}
	damage := map[string]func(t *testing.T){
		"half written": func(t *testing.T) {
			if err := os.Remove(filepath.Join(dir, "berth-clone-complete")); err != nil {
				t.Fatal(err)
			}
		},
		"garbage config": func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[core\x00garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"other remote": func(t *testing.T) {
			b, _ := os.ReadFile(filepath.Join(dir, "config"))
			b = bytes.ReplaceAll(b, []byte(r.FileURL()), []byte("file:///elsewhere"))
			if err := os.WriteFile(filepath.Join(dir, "config"), b, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"lost objects": func(t *testing.T) {
			packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*"))
			loose, _ := filepath.Glob(filepath.Join(dir, "objects", "[0-9a-f][0-9a-f]"))
			if len(packs)+len(loose) == 0 {
				t.Fatal("no objects to damage")
			}
			for _, p := range append(packs, loose...) {
				if err := os.RemoveAll(p); err != nil {
					t.Fatal(err)
				}
			}
		},
		"truncated pack": func(t *testing.T) {
			packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
			if len(packs) == 0 {
				t.Skip("clone stored no pack file")
			}
			for _, p := range packs {
				if err := os.Truncate(p, 40); err != nil {
					t.Fatal(err)
				}
			}
		},
	}
	for _, name := range []string{"half written", "garbage config", "other remote", "lost objects", "truncated pack"} {
		t.Run(name, func(t *testing.T) {
			before := logs.count("msg=cloning ")
			damage[name](t)
			s := open(t, opts)
			if got := resolve(t, s, "main"); got != c1 {
				t.Fatalf("main = %s, want %s", got, c1)
			}
			if d := cmp.Diff(first, readAll(t, s, c1, "")); d != "" {
				t.Errorf("tree after re-clone (-want +got):\n%s", d)
			}
			if logs.count("msg=cloning ") != before+1 {
				t.Errorf("the damaged cache was not re-cloned:\n%s", logs.String())
			}
		})
	}
}

// TestSymlinks follows links inside the tree as a checkout would, and treats
// links that leave it as missing.
func TestSymlinks(t *testing.T) {
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "repo.git"))
	c := r.CommitWithLinks(t, "main", map[string]string{
		"shared/web.yaml": "kind: App\nid: /web\n",
		"envs/prod/x.txt": "x",
	}, map[string]string{
		"envs/prod/web.yaml": "../../shared/web.yaml",
		"envs/prod/shared":   "../../shared",
		"envs/prod/self":     ".",
		"envs/prod/escape":   "../../../etc/passwd",
		"envs/prod/abs":      "/etc/passwd",
		"envs/prod/loop":     "loop",
	}, "links")
	s := open(t, gitsource.Options{URL: r.Dir})
	fsys, err := s.Tree(c, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"envs/prod/web.yaml":        "kind: App\nid: /web\n",
		"envs/prod/shared/web.yaml": "kind: App\nid: /web\n",
		"envs/prod/self/x.txt":      "x",
	} {
		got, err := fs.ReadFile(fsys, name)
		if err != nil || string(got) != want {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"envs/prod/escape", "envs/prod/abs", "envs/prod/loop", "envs/prod/missing", "shared/web.yaml/x"} {
		if _, err := fs.ReadFile(fsys, name); err == nil {
			t.Errorf("ReadFile(%s) succeeded", name)
		}
	}
	if fi, err := fs.Stat(fsys, "envs/prod/shared"); err != nil || !fi.IsDir() {
		t.Errorf("Stat(link to a directory) = %v, %v", fi, err)
	}
}

// TestRemoteOverSSH clones over SSH with a key, checking the host key
// against known_hosts, and refuses a host whose key is not the listed one.
func TestRemoteOverSSH(t *testing.T) {
	testenv.Integration(t)
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "srv", "cluster.git"))
	c1 := r.Commit(t, "main", first, "first")
	srv := testenv.StartGitSSHServer(t, filepath.Dir(r.Dir))
	opts := gitsource.Options{URL: srv.URL("cluster"), CacheDir: t.TempDir(),
		Auth: gitsource.Auth{SSHKeyFile: srv.ClientKey, KnownHostsFile: srv.KnownHosts}}
	s := open(t, opts)
	if got := resolve(t, s, "main"); got != c1 {
		t.Fatalf("main = %s, want %s", got, c1)
	}
	c2 := r.Change(t, "main", map[string]string{"deploy/apps/new.yaml": "kind: App\nid: /new\n"}, nil, "second")
	if err := s.Fetch(context.Background()); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got := resolve(t, s, "main"); got != c2 {
		t.Fatalf("after fetch main = %s, want %s", got, c2)
	}

	other := testenv.StartGitSSHServer(t, filepath.Dir(r.Dir))
	wrongHosts := filepath.Join(t.TempDir(), "known_hosts")
	b, _ := os.ReadFile(other.KnownHosts)
	// other's host key, listed under srv's address: a man in the middle.
	line := strings.Replace(string(b), other.Addr[strings.LastIndex(other.Addr, ":"):], srv.Addr[strings.LastIndex(srv.Addr, ":"):], 1)
	if err := os.WriteFile(wrongHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	opts.CacheDir = t.TempDir()
	opts.Auth.KnownHostsFile = wrongHosts
	if _, err := gitsource.Open(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("Open with a wrong host key: %v, want a host key error", err)
	} else {
		t.Logf("wrong host key: %v", err)
	}
	opts.Auth.KnownHostsFile = srv.KnownHosts
	opts.Auth.SSHKeyFile = other.ClientKey
	if _, err := gitsource.Open(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("Open with a key the server does not accept: %v, want an authentication error", err)
	} else {
		t.Logf("wrong client key: %v", err)
	}
}

// TestConcurrentOpensShareOneClone: parallel CI jobs sharing a cache
// directory clone once and all get a working repository.
func TestConcurrentOpensShareOneClone(t *testing.T) {
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "repo.git"))
	c1 := r.Commit(t, "main", first, "first")
	var logs lockedLog
	opts := gitsource.Options{URL: r.FileURL(), CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := gitsource.Open(context.Background(), opts)
			if err == nil {
				var h string
				if h, err = s.Resolve("main"); err == nil && h != c1 {
					err = fmt.Errorf("main = %s, want %s", h, c1)
				}
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := strings.Count(logs.String(), "msg=cloning "); n != 1 {
		t.Errorf("cloned %d times, want once:\n%s", n, logs.String())
	}
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCredentialsInURL: a token in the --repo URL works, and is never
// printed: not in errors (go-git quotes the URL it was given), not in log
// lines, not in the files of the cache (go-git's config keeps the remote's
// URL).
func TestCredentialsInURL(t *testing.T) {
	testenv.Integration(t)
	const token = "s3cret-url-token"
	srv := testenv.StartGitServerAuth(t, "ci", token)
	r := srv.NewRepo(t, "cluster")
	c1 := r.Commit(t, "main", first, "first")
	withCreds := func(user, pw string) string {
		return strings.Replace(r.URL, "://", "://"+user+":"+pw+"@", 1)
	}
	cache := t.TempDir()
	var logs logLines
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	_, err := gitsource.Open(ctx, gitsource.Options{URL: withCreds("ci", "wrong-password"), CacheDir: cache, Logger: logger})
	if err == nil {
		t.Fatal("a wrong password in the URL was accepted")
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("the error quotes the password: %v", err)
	}
	s := open(t, gitsource.Options{URL: withCreds("ci", token), CacheDir: cache, Logger: logger})
	if got := resolve(t, s, "main"); got != c1 {
		t.Fatalf("main = %s, want %s", got, c1)
	}
	if err := s.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve("no-such-branch"); err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("resolve error %v", err)
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), "wrong-password") {
		t.Errorf("the logs hold a password:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "repo=") {
		t.Errorf("the logs do not name the repository:\n%s", logs.String())
	}
	err = filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(token)) {
			t.Errorf("%s holds the token", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
