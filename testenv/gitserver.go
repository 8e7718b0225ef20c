package testenv

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// GitServer serves the bare repositories under Root over smart HTTP on
// 127.0.0.1, through the real `git http-backend`, the same CGI program
// production Git servers run. Pushes are accepted, so end-to-end tests can
// push to it like a user would.
type GitServer struct {
	Root string
	// URL is the server's base URL; a repository is at URL/<name>.git.
	URL string
	// Username and Password, when set, are required as HTTP basic auth.
	Username, Password string

	// stalled, while open, holds every request until Unstall closes it.
	mu      sync.Mutex
	stalled chan struct{}
}

// Stall makes the server hang: every request, and those already waiting,
// get no answer until Unstall (or until the client gives up), as a Git host
// that accepts connections but stopped serving would.
func (s *GitServer) Stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stalled == nil {
		s.stalled = make(chan struct{})
	}
}

// Unstall lets the held and new requests through again.
func (s *GitServer) Unstall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stalled != nil {
		close(s.stalled)
		s.stalled = nil
	}
}

// StartGitServer starts a Git server with no authentication. It stops when
// the test ends.
func StartGitServer(t testing.TB) *GitServer {
	return StartGitServerAuth(t, "", "")
}

// StartGitServerAuth starts a Git server that requires basic auth with the
// given user and password (a token is a password).
func StartGitServerAuth(t testing.TB, user, password string) *GitServer {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is not installed: %v (run `make deps`, or apt-get install git)", err)
	}
	s := &GitServer{Root: t.TempDir(), Username: user, Password: password}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			// The pushes come from the test itself; git requires a user
			// name for receive-pack.
			"REMOTE_USER=berth-test",
		},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		stalled := s.stalled
		s.mu.Unlock()
		if stalled != nil {
			select {
			case <-stalled:
			case <-r.Context().Done():
				return
			}
		}
		if s.Username != "" || s.Password != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != s.Username || p != s.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="berth-test"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	// Runs first: a stalled request would keep Close waiting.
	t.Cleanup(s.Unstall)
	s.URL = srv.URL
	return s
}

// NewRepo creates an empty bare repository named name on the server.
func (s *GitServer) NewRepo(t testing.TB, name string) *GitRepo {
	t.Helper()
	r := NewGitRepo(t, filepath.Join(s.Root, name+".git"))
	r.URL = s.URL + "/" + name + ".git"
	return r
}

// GitRepo is a bare repository a test writes commits into directly, through
// the object store, so building even a 5,000-file commit is fast.
type GitRepo struct {
	Dir string
	// URL is the HTTP URL when the repository is served by a GitServer.
	URL  string
	repo *git.Repository
	n    int
}

// NewGitRepo creates an empty bare repository in dir, whose HEAD is main and
// which accepts pushes over HTTP.
func NewGitRepo(t testing.TB, dir string) *GitRepo {
	t.Helper()
	repo, err := git.PlainInit(dir, true)
	if err != nil {
		t.Fatalf("create git repository %s: %v", dir, err)
	}
	if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName("main"))); err != nil {
		t.Fatal(err)
	}
	cfg, err := repo.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Raw.Section("http").SetOption("receivepack", "true")
	if err := repo.SetConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return &GitRepo{Dir: dir, repo: repo}
}

// FileURL is the repository's file:// URL.
func (r *GitRepo) FileURL() string { return "file://" + r.Dir }

// Commit makes a commit on branch whose tree is exactly files (path to
// content), with the branch's tip as parent, and returns its hash.
func (r *GitRepo) Commit(t testing.TB, branch string, files map[string]string, msg string) string {
	t.Helper()
	return r.CommitWithLinks(t, branch, files, nil, msg)
}

// CommitWithLinks is Commit with symbolic links as well: links maps a path
// to the link's target.
func (r *GitRepo) CommitWithLinks(t testing.TB, branch string, files, links map[string]string, msg string) string {
	t.Helper()
	tree, err := r.writeTree(files, links)
	if err != nil {
		t.Fatalf("write tree: %v", err)
	}
	var parents []plumbing.Hash
	if ref, err := r.repo.Reference(plumbing.NewBranchReferenceName(branch), true); err == nil {
		parents = append(parents, ref.Hash())
	}
	r.n++
	when := time.Date(2026, 1, 1, 0, 0, r.n, 0, time.UTC)
	sig := object.Signature{Name: "Berth Test", Email: "test@berth.invalid", When: when}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: parents}
	obj := r.repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		t.Fatal(err)
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	r.SetRef(t, plumbing.NewBranchReferenceName(branch).String(), h.String())
	return h.String()
}

// Change commits on branch the tip's files with set written and remove
// deleted, and returns the new commit's hash.
func (r *GitRepo) Change(t testing.TB, branch string, set map[string]string, remove []string, msg string) string {
	t.Helper()
	files := map[string]string{}
	if _, err := r.repo.Reference(plumbing.NewBranchReferenceName(branch), true); err == nil {
		files = r.Files(t, "refs/heads/"+branch)
	}
	for p, c := range set {
		files[p] = c
	}
	for _, p := range remove {
		delete(files, p)
	}
	return r.Commit(t, branch, files, msg)
}

// Files returns every file of the commit ref names.
func (r *GitRepo) Files(t testing.TB, ref string) map[string]string {
	t.Helper()
	h, err := r.repo.ResolveRevision(plumbing.Revision(ref))
	if err != nil {
		t.Fatalf("resolve %s: %v", ref, err)
	}
	c, err := r.repo.CommitObject(*h)
	if err != nil {
		t.Fatal(err)
	}
	iter, err := c.Files()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err = iter.ForEach(func(f *object.File) error {
		s, err := f.Contents()
		out[f.Name] = s
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// SetRef points a reference (refs/heads/x, refs/tags/y) at commit: with a
// branch that already exists this is what a force push does.
func (r *GitRepo) SetRef(t testing.TB, name, commit string) {
	t.Helper()
	ref := plumbing.NewHashReference(plumbing.ReferenceName(name), plumbing.NewHash(commit))
	if err := r.repo.Storer.SetReference(ref); err != nil {
		t.Fatalf("set %s: %v", name, err)
	}
}

// DeleteRef removes a branch or tag.
func (r *GitRepo) DeleteRef(t testing.TB, name string) {
	t.Helper()
	if err := r.repo.Storer.RemoveReference(plumbing.ReferenceName(name)); err != nil {
		t.Fatalf("delete %s: %v", name, err)
	}
}

// writeTree stores files as blobs and trees and returns the root tree hash.
func (r *GitRepo) writeTree(files, links map[string]string) (plumbing.Hash, error) {
	type blob struct {
		content string
		mode    filemode.FileMode
	}
	type dir struct {
		files map[string]blob
		dirs  map[string]*dir
	}
	root := &dir{files: map[string]blob{}, dirs: map[string]*dir{}}
	add := func(p string, b blob) {
		d := root
		parts := strings.Split(path.Clean(p), "/")
		for _, part := range parts[:len(parts)-1] {
			sub := d.dirs[part]
			if sub == nil {
				sub = &dir{files: map[string]blob{}, dirs: map[string]*dir{}}
				d.dirs[part] = sub
			}
			d = sub
		}
		d.files[parts[len(parts)-1]] = b
	}
	for p, content := range files {
		add(p, blob{content, filemode.Regular})
	}
	for p, target := range links {
		add(p, blob{target, filemode.Symlink})
	}
	var write func(d *dir) (plumbing.Hash, error)
	write = func(d *dir) (plumbing.Hash, error) {
		var entries []object.TreeEntry
		for name, b := range d.files {
			h, err := r.writeBlob(b.content)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries = append(entries, object.TreeEntry{Name: name, Mode: b.mode, Hash: h})
		}
		for name, sub := range d.dirs {
			h, err := write(sub)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
		// Git sorts a directory as if its name ended in "/".
		sortKey := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		sort.Slice(entries, func(i, j int) bool { return sortKey(entries[i]) < sortKey(entries[j]) })
		obj := r.repo.Storer.NewEncodedObject()
		if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
			return plumbing.ZeroHash, err
		}
		return r.repo.Storer.SetEncodedObject(obj)
	}
	return write(root)
}

func (r *GitRepo) writeBlob(content string) (plumbing.Hash, error) {
	obj := r.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := io.WriteString(w, content); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write blob: %w", err)
	}
	return r.repo.Storer.SetEncodedObject(obj)
}

// GitSSHServer serves the repositories under Root over SSH on 127.0.0.1, by
// running the real `git upload-pack` / `git receive-pack` for each session,
// as sshd does for a Git host. Only ClientKey is accepted, and the server's
// host key is listed in KnownHosts.
type GitSSHServer struct {
	Root string
	// Addr is host:port; a repository is at ssh://git@Addr/<name>.git.
	Addr string
	// ClientKey is a private key file (OpenSSH format) the server accepts.
	ClientKey string
	// KnownHosts is a known_hosts file holding the server's host key.
	KnownHosts string
}

// StartGitSSHServer starts an SSH Git server for the bare repositories
// under root (a GitServer's Root, say). It stops when the test ends.
func StartGitSSHServer(t testing.TB, root string) *GitSSHServer {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is not installed: %v (run `make deps`, or apt-get install git)", err)
	}
	dir := t.TempDir()
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, clientPriv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(clientPriv, "berth-test")
	if err != nil {
		t.Fatal(err)
	}
	s := &GitSSHServer{Root: root, ClientKey: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	if err := os.WriteFile(s.ClientKey, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	allowed, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(allowed.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("key not authorised")
		},
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, hostSigner.PublicKey())
	if err := os.WriteFile(s.KnownHosts, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveGitSSH(conn, cfg, gitPath, root)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return s
}

// URL is the ssh:// URL of the repository name.
func (s *GitSSHServer) URL(name string) string {
	return "ssh://git@" + s.Addr + "/" + name + ".git"
}

func serveGitSSH(conn net.Conn, cfg *ssh.ServerConfig, gitPath, root string) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go serveGitSession(ch, chReqs, gitPath, root)
	}
}

// serveGitSession runs the one command a Git client asks for:
// git-upload-pack '/name.git' (or git-receive-pack).
func serveGitSession(ch ssh.Channel, reqs <-chan *ssh.Request, gitPath, root string) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" || len(req.Payload) < 4 {
			_ = req.Reply(req.Type == "env", nil)
			continue
		}
		command := string(req.Payload[4:])
		verb, arg, _ := strings.Cut(command, " ")
		repo := filepath.Join(root, filepath.Clean("/"+strings.Trim(arg, "'\"")))
		var sub string
		switch verb {
		case "git-upload-pack":
			sub = "upload-pack"
		case "git-receive-pack":
			sub = "receive-pack"
		default:
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		cmd := exec.Command(gitPath, sub, repo)
		cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
		// A pipe, not cmd.Stdin = ch: Wait would otherwise wait for a copy
		// that blocks on the client until the session closes.
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return
		}
		go func() {
			_, _ = io.Copy(stdin, ch)
			stdin.Close()
		}()
		status := uint32(0)
		if err := cmd.Run(); err != nil {
			status = 1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				status = uint32(ee.ExitCode())
			}
		}
		_, _ = ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, status))
		return
	}
}
