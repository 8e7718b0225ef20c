package gitsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Options says which repository to open and how.
type Options struct {
	// URL is a local path (a work tree or a bare repository), or a remote:
	// file://, http://, https://, ssh:// or user@host:path.
	URL string
	// CacheDir holds clones of remote repositories, one directory per URL.
	// Empty means $XDG_CACHE_HOME/berth/git (~/.cache/berth/git).
	CacheDir string
	Auth     Auth
	// Logger receives what the source does (clone, fetch, re-clone of a
	// corrupt cache); nil discards it.
	Logger *slog.Logger
}

// Source is one opened repository. Its methods are safe for concurrent use.
type Source struct {
	url    string
	dir    string // the cache directory of a remote; empty for a local repository
	auth   transport.AuthMethod
	log    *slog.Logger
	remote bool
	// secrets are the credentials that must never appear in an error.
	secrets []string

	// mu serialises access to the object store: go-git's storage and the
	// lazily built maps of its Tree objects are not safe for concurrent use.
	mu   sync.Mutex
	repo *git.Repository
}

// completeMarker is written into a cache directory last, so that a directory
// without it is known to be half written.
const completeMarker = "berth-clone-complete"

// Open opens a local repository as it is, or brings the cached clone of a
// remote up to date (cloning it the first time, or again when the cache is
// corrupt).
func Open(ctx context.Context, opts Options) (*Source, error) {
	if opts.URL == "" {
		return nil, errors.New("open repository: no URL or path given")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Credentials in the URL travel as an auth method only, and every error
	// and log line names the repository without them.
	bare, user, password := splitCredentials(opts.URL)
	if (user != "" || password != "") && opts.Auth.Token == "" && opts.Auth.Username == "" && opts.Auth.Password == "" {
		opts.Auth.Username, opts.Auth.Password = user, password
	}
	shown := Redact(opts.URL)
	s, err := open(ctx, opts, bare, log.With("repo", shown))
	return s, redact(err, password, user, opts.Auth.Token, opts.Auth.Password)
}

func open(ctx context.Context, opts Options, bare string, log *slog.Logger) (*Source, error) {
	opts.URL = bare
	s := &Source{url: bare, log: log}
	if local, err := localPath(opts.URL); err != nil {
		return nil, err
	} else if local != "" {
		// A bare repository, or a work tree opened from any directory in it.
		repo, err := git.PlainOpen(local)
		if errors.Is(err, git.ErrRepositoryNotExists) {
			repo, err = git.PlainOpenWithOptions(local, &git.PlainOpenOptions{DetectDotGit: true})
		}
		if err != nil {
			return nil, fmt.Errorf("open repository %s: %w", local, err)
		}
		fsst, ok := repo.Storer.(*filesystem.Storage)
		if !ok {
			return nil, fmt.Errorf("open repository %s: unexpected storage %T", local, repo.Storer)
		}
		if s.repo, err = openStorage(fsst.Filesystem().Root()); err != nil {
			return nil, fmt.Errorf("open repository %s: %w", local, err)
		}
		return s, nil
	}
	auth, err := opts.Auth.method(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", opts.URL, err)
	}
	s.auth, s.remote = auth, true
	s.secrets = []string{opts.Auth.Token, opts.Auth.Password}
	cache := opts.CacheDir
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("find a cache directory for %s (set --cache-dir): %w", opts.URL, err)
		}
		cache = filepath.Join(base, "berth", "git")
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	s.dir = filepath.Join(cache, cacheName(opts.URL))
	if err := s.Fetch(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// openStorage opens the repository whose Git directory is dir, keeping a few
// pack files open: by default go-git reopens the pack file for every object,
// which dominates the cost of reading a few thousand manifests.
func openStorage(dir string) (*git.Repository, error) {
	st := filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRUDefault(),
		filesystem.Options{MaxOpenDescriptors: 16})
	repo, err := git.Open(st, nil)
	if err != nil {
		st.Close()
		return nil, err
	}
	return repo, nil
}

// Close releases the pack files the source keeps open.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repo == nil {
		return nil
	}
	if st, ok := s.repo.Storer.(*filesystem.Storage); ok {
		return st.Close()
	}
	return nil
}

// localPath returns the path of a local repository URL, "" for a remote.
func localPath(url string) (string, error) {
	if strings.Contains(url, "://") {
		return "", nil
	}
	if _, err := os.Stat(url); err == nil {
		return url, nil
	}
	if isSSH(url) {
		return "", nil
	}
	return "", fmt.Errorf("open repository %s: no such directory, and not a URL (file://, http(s)://, ssh:// or user@host:path)", url)
}

// cacheName is a directory name unique to url and still readable by a person
// looking into the cache.
func cacheName(url string) string {
	sum := sha256.Sum256([]byte(url))
	name := strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '_' || r == '-' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, path.Base(strings.TrimSuffix(url, "/")))
	if len(name) > 40 {
		name = name[:40]
	}
	return name + "-" + hex.EncodeToString(sum[:8])
}

// URL is the repository's URL or path as given.
func (s *Source) URL() string { return s.url }

// Fetch brings the cached clone up to date with the remote; it does nothing
// for a local repository. Branches are mirrored with force, so a force-pushed
// branch follows the remote, and branches or tags deleted there are deleted
// here.
func (s *Source) Fetch(ctx context.Context) error {
	if !s.remote {
		return nil
	}
	return redact(s.fetch(ctx), s.secrets...)
}

func (s *Source) fetch(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockDir(s.dir + ".lock")
	if err != nil {
		return err
	}
	defer unlock()

	if s.repo == nil {
		repo, err := openCache(s.dir, s.url)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				s.log.Warn("git cache unusable, cloning again", "dir", s.dir, "err", err)
			}
			return s.recloneLocked(ctx)
		}
		s.repo = repo
	}
	err = fetch(ctx, s.repo, s.auth)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || isTransportError(err) {
		return fmt.Errorf("fetch %s: %w", s.url, err)
	}
	// Anything else is the local side failing (missing objects, a broken
	// pack): the cache is not trusted, a clean clone replaces it.
	s.log.Warn("fetch into cache failed, cloning again", "dir", s.dir, "err", err)
	return s.recloneLocked(ctx)
}

func isTransportError(err error) bool {
	return errors.Is(err, transport.ErrAuthenticationRequired) ||
		errors.Is(err, transport.ErrAuthorizationFailed) ||
		errors.Is(err, transport.ErrRepositoryNotFound) ||
		errors.Is(err, transport.ErrEmptyRemoteRepository) ||
		strings.Contains(err.Error(), "connection refused") ||
		strings.Contains(err.Error(), "no such host") ||
		strings.Contains(err.Error(), "ssh: handshake failed")
}

// recloneLocked clones into a fresh directory beside the cache and swaps it
// in only once it is complete and checked.
func (s *Source) recloneLocked(ctx context.Context) error {
	tmp, err := os.MkdirTemp(filepath.Dir(s.dir), filepath.Base(s.dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("clone %s: %w", s.url, err)
	}
	defer os.RemoveAll(tmp)
	s.log.Info("cloning", "dir", s.dir)
	repo, err := git.PlainInit(tmp, true)
	if err != nil {
		return fmt.Errorf("clone %s: init %s: %w", s.url, tmp, err)
	}
	_, err = repo.CreateRemote(&config.RemoteConfig{
		Name: "origin",
		URLs: []string{s.url},
		Fetch: []config.RefSpec{
			"+refs/heads/*:refs/heads/*",
			"+refs/tags/*:refs/tags/*",
		},
	})
	if err != nil {
		return fmt.Errorf("clone %s: %w", s.url, err)
	}
	if err := fetch(ctx, repo, s.auth); err != nil {
		return fmt.Errorf("clone %s: %w", s.url, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, completeMarker), []byte(s.url+"\n"), 0o600); err != nil {
		return fmt.Errorf("clone %s: %w", s.url, err)
	}
	if s.repo != nil {
		if st, ok := s.repo.Storer.(*filesystem.Storage); ok {
			st.Close()
		}
		s.repo = nil
	}
	old := s.dir + ".old"
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("clone %s: remove %s: %w", s.url, old, err)
	}
	if err := os.Rename(s.dir, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clone %s: move old cache aside: %w", s.url, err)
	}
	if err := os.Rename(tmp, s.dir); err != nil {
		return fmt.Errorf("clone %s: %w", s.url, err)
	}
	if err := os.RemoveAll(old); err != nil {
		s.log.Warn("could not remove the old cache", "dir", old, "err", err)
	}
	repo, err = openCache(s.dir, s.url)
	if err != nil {
		return fmt.Errorf("clone %s: the fresh clone does not check out: %w", s.url, err)
	}
	s.repo = repo
	return nil
}

// fetch mirrors the remote's branches and tags, then prunes the local ones
// the remote no longer has and points HEAD where the remote's HEAD points.
func fetch(ctx context.Context, repo *git.Repository, auth transport.AuthMethod) error {
	err := repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Auth: auth, Force: true, Tags: git.NoTags})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return err
	}
	remote, err := repo.Remote("origin")
	if err != nil {
		return err
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return err
	}
	keep := map[plumbing.ReferenceName]bool{}
	var head *plumbing.Reference
	for _, r := range refs {
		keep[r.Name()] = true
		if r.Name() == plumbing.HEAD {
			head = r
		}
	}
	iter, err := repo.References()
	if err != nil {
		return err
	}
	var stale []plumbing.ReferenceName
	_ = iter.ForEach(func(r *plumbing.Reference) error {
		if (r.Name().IsBranch() || r.Name().IsTag()) && !keep[r.Name()] {
			stale = append(stale, r.Name())
		}
		return nil
	})
	for _, name := range stale {
		if err := repo.Storer.RemoveReference(name); err != nil {
			return err
		}
	}
	if head == nil {
		return nil
	}
	target := head.Target()
	if head.Type() == plumbing.HashReference {
		// No symref advertised: HEAD is the branch at HEAD's commit.
		for _, r := range refs {
			if r.Name().IsBranch() && r.Hash() == head.Hash() {
				target = r.Name()
				break
			}
		}
	}
	if target != "" {
		return repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, target))
	}
	return nil
}

// openCache opens a cache directory and checks it can be trusted: it was
// completed, it is a clone of url, and every branch and tag leads to a commit
// whose tree can be read.
func openCache(dir, url string) (*git.Repository, error) {
	if _, err := os.Stat(filepath.Join(dir, completeMarker)); err != nil {
		if _, derr := os.Stat(dir); errors.Is(derr, os.ErrNotExist) {
			return nil, derr
		}
		return nil, fmt.Errorf("cache %s was not completed: %w", dir, err)
	}
	repo, err := openStorage(dir)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	ok := false
	defer func() {
		if !ok {
			repo.Storer.(*filesystem.Storage).Close()
		}
	}()
	cfg, err := repo.Config()
	if err != nil {
		return nil, fmt.Errorf("cache %s: config: %w", dir, err)
	}
	if r := cfg.Remotes["origin"]; r == nil || len(r.URLs) == 0 || r.URLs[0] != url {
		return nil, fmt.Errorf("cache %s is not a clone of %s", dir, url)
	}
	iter, err := repo.References()
	if err != nil {
		return nil, fmt.Errorf("cache %s: references: %w", dir, err)
	}
	err = iter.ForEach(func(r *plumbing.Reference) error {
		if !r.Name().IsBranch() && !r.Name().IsTag() {
			return nil
		}
		c, err := peel(repo, r.Hash())
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name(), err)
		}
		if _, err := c.Tree(); err != nil {
			return fmt.Errorf("%s: tree of %s: %w", r.Name(), c.Hash, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	ok = true
	return repo, nil
}

// peel follows annotated tags to the commit they name.
func peel(repo *git.Repository, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		obj, err := repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return nil, err
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o, nil
		case *object.Tag:
			h = o.Target
		default:
			return nil, fmt.Errorf("%s is a %s, not a commit", h, obj.Type())
		}
	}
	return nil, fmt.Errorf("%s: too many nested tags", h)
}

// lockDir takes an exclusive lock so two berth processes sharing a cache do
// not fetch into it at once.
func lockDir(file string) (unlock func(), err error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock git cache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock git cache %s: %w", file, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// isFullHash reports whether ref is a full (SHA-1) commit hash, which is
// looked up directly rather than as a revision.
func isFullHash(ref string) bool {
	if len(ref) != 40 {
		return false
	}
	for _, c := range ref {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Resolve turns a branch, tag, commit hash (full or abbreviated) or any
// revision git understands (HEAD~1, main^) into a full commit hash.
func (s *Source) Resolve(ref string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ref == "" {
		ref = "HEAD"
	}
	var h plumbing.Hash
	if isFullHash(ref) {
		h = plumbing.NewHash(ref)
	} else {
		p, err := s.repo.ResolveRevision(plumbing.Revision(ref))
		if err != nil {
			return "", fmt.Errorf("resolve %q in %s: %w", ref, s.url, err)
		}
		h = *p
	}
	c, err := peel(s.repo, h)
	if err != nil {
		return "", fmt.Errorf("resolve %q in %s: %w", ref, s.url, err)
	}
	return c.Hash.String(), nil
}

// Tree returns the tree of commit (a full hash from Resolve), or of the
// directory dir inside it, as a file system.
func (s *Source) Tree(commit, dir string) (*TreeFS, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.treeLocked(commit, dir)
	if err != nil {
		return nil, err
	}
	return &TreeFS{src: s, root: t}, nil
}

func (s *Source) treeLocked(commit, dir string) (*object.Tree, error) {
	c, err := peel(s.repo, plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", commit, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("tree of commit %s: %w", commit, err)
	}
	dir, err = CleanPath(dir)
	if err != nil {
		return nil, err
	}
	if dir == "." {
		return t, nil
	}
	sub, err := t.Tree(dir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, fmt.Errorf("path %q in commit %s: %w", dir, short(commit), ErrPathNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("path %q in commit %s: %w", dir, short(commit), err)
	}
	return sub, nil
}

// ErrPathNotFound is returned (wrapped) by Tree and Changed when the
// directory asked for does not exist in a commit, so a caller can treat a
// manifest directory that a commit has not created yet as empty.
var ErrPathNotFound = errors.New("no such directory in the commit")

// CleanPath normalises a --path value to a slash-separated path relative to
// the repository root, "." for the root. It refuses paths that leave the
// repository.
func CleanPath(dir string) (string, error) {
	dir = path.Clean("/" + filepath.ToSlash(dir))
	if strings.Contains(dir, "/../") || strings.HasSuffix(dir, "/..") {
		return "", fmt.Errorf("path %q leaves the repository", dir)
	}
	dir = strings.TrimPrefix(dir, "/")
	if dir == "" {
		return ".", nil
	}
	return dir, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// Changed lists the files (relative to dir) that differ between two commits,
// whether added, deleted, modified or renamed (a rename lists both names).
// Whole subtrees with equal hashes are skipped, so its cost follows the size
// of the change, not of the repository.
func (s *Source) Changed(ctx context.Context, base, head, dir string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bt, err := s.treeLocked(base, dir)
	if err != nil {
		return nil, err
	}
	ht, err := s.treeLocked(head, dir)
	if err != nil {
		return nil, err
	}
	if bt.Hash == ht.Hash {
		return nil, nil
	}
	changes, err := object.DiffTreeWithOptions(ctx, bt, ht, &object.DiffTreeOptions{})
	if err != nil {
		return nil, fmt.Errorf("compare %s and %s: %w", short(base), short(head), err)
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range changes {
		for _, name := range []string{c.From.Name, c.To.Name} {
			if name != "" && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	sortStrings(out)
	return out, nil
}
