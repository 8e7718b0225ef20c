package memstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/berthops/berth/cluster"
)

// Tree is the shared state every Client of it sees.
type Tree struct {
	mu       sync.Mutex
	nodes    map[string]*node
	watchers map[string][]watcher
	seq      int64

	file    string
	dirty   bool        // persistent nodes changed since the last write
	timer   *time.Timer // pending coalesced write
	closed  bool
	saveErr error
	saveMu  sync.Mutex // one write of the file at a time

	lock *os.File // the flock held on file's lock file while the tree is open
	// recovered says why the backup was loaded instead of file; keepBackup
	// stops the first save from rotating the damaged file into the backup.
	recovered  string
	keepBackup bool
}

type node struct {
	data     []byte
	version  int32
	children map[string]struct{}
	owner    *Client // session owning an ephemeral node; nil if persistent
}

type watcher struct {
	ch     chan cluster.Event
	client *Client
}

// New returns an empty tree kept only in memory.
func New() *Tree {
	return &Tree{
		nodes:    map[string]*node{"/": {children: map[string]struct{}{}}},
		watchers: map[string][]watcher{},
	}
}

// Open returns a tree persisted to file: loaded from it if it exists, and
// rewritten atomically (temp file, fsync, rename, fsync of the directory)
// within saveDelay of a change; Close writes what is pending. Ephemeral
// nodes are not persisted, as they would not survive a restart of their
// session either.
//
// The tree holds an exclusive lock (flock on file + ".lock") until Close: a
// second process opening the same file fails at once, naming the holder,
// instead of both leading one cluster. Each save keeps the file it replaces
// as file + ".bak"; when file is empty or corrupt but the backup is good,
// the backup is loaded and Recovered says so.
func Open(file string) (*Tree, error) {
	lock, err := lockFile(file + ".lock")
	if err != nil {
		return nil, err
	}
	t, err := load(file)
	if err != nil {
		unlock(lock)
		return nil, err
	}
	t.lock = lock
	return t, nil
}

func load(file string) (*Tree, error) {
	t := New()
	t.file = file
	saved, err := readState(file)
	switch {
	case err == nil:
		t.fill(saved)
		return t, nil
	case errors.Is(err, os.ErrNotExist):
		// Saves never leave the file missing: it is a new tree, or one
		// an operator removed on purpose.
		return t, nil
	}
	backup := file + ".bak"
	old, berr := readState(backup)
	if berr != nil {
		return nil, fmt.Errorf("%w (and no usable backup: %v); move it aside to start with an empty state", err, berr)
	}
	t.fill(old)
	t.recovered = fmt.Sprintf("%v: loaded the last good state from %s instead", err, backup)
	t.keepBackup = true
	return t, nil
}

// readState reads a state file; an empty file is as corrupt as a truncated
// one (a crash before the data reached the disk).
func readState(file string) (map[string]savedNode, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("open state file: %w", err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("state file %s is empty", file)
	}
	var saved map[string]savedNode
	if err := json.Unmarshal(raw, &saved); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %w", file, err)
	}
	return saved, nil
}

func (t *Tree) fill(saved map[string]savedNode) {
	paths := make([]string, 0, len(saved))
	for p := range saved {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents before children
	for _, p := range paths {
		if err := validPath(p); err != nil || p == "/" {
			continue
		}
		t.ensureParents(p, nil)
		t.nodes[p] = &node{data: saved[p].Data, version: saved[p].Version, children: map[string]struct{}{}}
		t.nodes[path.Dir(p)].children[path.Base(p)] = struct{}{}
	}
}

// Recovered is empty, or says that the state file was damaged and the
// backup was loaded instead, for the caller to log and show.
func (t *Tree) Recovered() string { return t.recovered }

type savedNode struct {
	Data    []byte `json:"data,omitempty"`
	Version int32  `json:"version"`
}

// saveDelay coalesces writes to the state file: a burst of changes (a
// rollout, an agent reporting many statuses) costs one rewrite of the file,
// not one per change.
const saveDelay = 100 * time.Millisecond

// save schedules a write of the persistent nodes; called with mu held after
// a change. It returns the error of the previous write, so a failing disk is
// not silent.
func (t *Tree) save() error {
	if t.file == "" {
		return nil
	}
	t.dirty = true
	if t.timer == nil && !t.closed {
		t.timer = time.AfterFunc(saveDelay, func() { _ = t.Flush() })
	}
	if err := t.saveErr; err != nil {
		t.saveErr = nil
		return err
	}
	return nil
}

// Flush writes pending changes to the state file now.
func (t *Tree) Flush() error {
	t.saveMu.Lock()
	defer t.saveMu.Unlock()
	t.mu.Lock()
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if !t.dirty || t.file == "" {
		t.mu.Unlock()
		return nil
	}
	t.dirty = false
	out := make(map[string]savedNode, len(t.nodes))
	for p, n := range t.nodes {
		if n.owner == nil && p != "/" {
			out[p] = savedNode{Data: n.data, Version: n.version}
		}
	}
	rotate := !t.keepBackup
	t.mu.Unlock()
	err := writeFile(t.file, out, rotate)
	if err == nil && !rotate {
		t.mu.Lock()
		t.keepBackup = false
		t.mu.Unlock()
	}
	if err != nil {
		t.mu.Lock()
		t.saveErr = err
		t.dirty = true
		t.mu.Unlock()
	}
	return err
}

// Close writes pending changes, stops scheduling writes and releases the
// file's lock; later changes stay in memory only.
func (t *Tree) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	err := t.Flush()
	t.saveMu.Lock()
	if t.lock != nil {
		unlock(t.lock)
		t.lock = nil
	}
	t.saveMu.Unlock()
	return err
}

// writeFile replaces file with nodes so that a crash at any point leaves
// either the old or the new content, both on disk: the data is synced before
// the rename and the directory after it. With rotate, the file replaced is
// kept as file + ".bak" (hard-linked, so file itself always exists).
func writeFile(file string, nodes map[string]savedNode, rotate bool) error {
	raw, err := json.Marshal(nodes)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if rotate {
		if err := linkBackup(file); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return syncDir(dir)
}

// linkBackup makes file's current content the backup, atomically.
func linkBackup(file string) error {
	tmp := file + ".bak.tmp"
	_ = os.Remove(tmp)
	if err := os.Link(file, tmp); errors.Is(err, os.ErrNotExist) {
		return nil // the first save: nothing to keep
	} else if err != nil {
		return fmt.Errorf("save state: keep a backup: %w", err)
	}
	if err := os.Rename(tmp, file+".bak"); err != nil {
		return fmt.Errorf("save state: keep a backup: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save state: sync %s: %w", dir, err)
	}
	return nil
}

// lockFile takes an exclusive, non-blocking flock on file and writes this
// process's pid into it, so that the error another process gets names the
// holder. The lock is released by the kernel if the process dies.
func lockFile(file string) (*os.File, error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", filepath.Dir(file), err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(file)
		f.Close()
		pid := strings.TrimSpace(string(holder))
		if pid == "" {
			pid = "unknown"
		}
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another process (pid %s, lock %s): stop it or use another directory", filepath.Dir(file), pid, file)
		}
		return nil, fmt.Errorf("lock %s: %w", file, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func unlock(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	f.Close()
}

// Client opens a new session on the tree.
func (t *Tree) Client() *Client {
	return &Client{tree: t, session: make(chan struct{}), regs: map[string]*registration{}}
}

func validPath(p string) error {
	if p == "" || p[0] != '/' || (len(p) > 1 && strings.HasSuffix(p, "/")) || path.Clean(p) != p || strings.ContainsRune(p, 0) {
		return fmt.Errorf("invalid path %q", p)
	}
	return nil
}

// undo reverts one change of a failed multi.
type undo func()

// ensureParents creates missing ancestors of p, recording undos.
func (t *Tree) ensureParents(p string, log *[]undo) []string {
	var created []string
	dir := path.Dir(p)
	if _, ok := t.nodes[dir]; ok || dir == p {
		return nil
	}
	created = append(created, t.ensureParents(dir, log)...)
	t.create(dir, nil, nil, log)
	return append(created, dir)
}

func (t *Tree) create(p string, data []byte, owner *Client, log *[]undo) {
	t.nodes[p] = &node{data: data, children: map[string]struct{}{}, owner: owner}
	parent := t.nodes[path.Dir(p)]
	parent.children[path.Base(p)] = struct{}{}
	if log != nil {
		*log = append(*log, func() {
			delete(t.nodes, p)
			delete(parent.children, path.Base(p))
		})
	}
}

func (t *Tree) remove(p string, log *[]undo) {
	n := t.nodes[p]
	delete(t.nodes, p)
	parent := t.nodes[path.Dir(p)]
	delete(parent.children, path.Base(p))
	if log != nil {
		*log = append(*log, func() {
			t.nodes[p] = n
			parent.children[path.Base(p)] = struct{}{}
		})
	}
}

// apply runs ops atomically for client c and returns the paths whose
// watchers must fire; called with mu held.
func (t *Tree) apply(c *Client, ops []cluster.Op) ([]string, error) {
	var log []undo
	var fired []string
	for i, op := range ops {
		changed, err := t.applyOne(c, op, &log)
		if err != nil {
			for j := len(log) - 1; j >= 0; j-- {
				log[j]()
			}
			if op.IsFence() && (errorsIs(err, cluster.ErrNotFound) || errorsIs(err, cluster.ErrVersion)) {
				err = cluster.ErrFenced
			}
			return nil, fmt.Errorf("op %d (%s %s): %w", i, kindName(op.Kind), op.Path, err)
		}
		fired = append(fired, changed...)
	}
	return fired, nil
}

func (t *Tree) applyOne(c *Client, op cluster.Op, log *[]undo) ([]string, error) {
	if err := validPath(op.Path); err != nil {
		return nil, err
	}
	n, exists := t.nodes[op.Path]
	kind := op.Kind
	if kind == cluster.OpPut {
		kind = cluster.OpCreate
		if exists {
			kind = cluster.OpSet
		}
	}
	switch kind {
	case cluster.OpCreate:
		if exists {
			return nil, cluster.ErrExists
		}
		if op.Path == "/" {
			return nil, cluster.ErrExists
		}
		if p := t.nodes[path.Dir(op.Path)]; p != nil && p.owner != nil {
			return nil, fmt.Errorf("ephemeral nodes may not have children")
		}
		made := t.ensureParents(op.Path, log)
		t.create(op.Path, op.Data, nil, log)
		fired := []string{op.Path, path.Dir(op.Path)}
		for _, m := range made {
			fired = append(fired, m, path.Dir(m))
		}
		return fired, nil
	case cluster.OpSet:
		if !exists {
			return nil, cluster.ErrNotFound
		}
		if op.Version != cluster.AnyVersion && op.Version != n.version {
			return nil, cluster.ErrVersion
		}
		oldData, oldVersion := n.data, n.version
		n.data, n.version = op.Data, n.version+1
		*log = append(*log, func() { n.data, n.version = oldData, oldVersion })
		return []string{op.Path}, nil
	case cluster.OpDelete:
		if !exists && op.IfExists() {
			return nil, nil
		}
		if !exists {
			return nil, cluster.ErrNotFound
		}
		if op.Version != cluster.AnyVersion && op.Version != n.version {
			return nil, cluster.ErrVersion
		}
		if len(n.children) > 0 {
			return nil, cluster.ErrNotEmpty
		}
		if op.Path == "/" {
			return nil, fmt.Errorf("cannot delete the root")
		}
		t.remove(op.Path, log)
		return []string{op.Path, path.Dir(op.Path)}, nil
	case cluster.OpCheck:
		if !exists {
			return nil, cluster.ErrNotFound
		}
		if op.Version != cluster.AnyVersion && op.Version != n.version {
			return nil, cluster.ErrVersion
		}
		return nil, nil
	}
	return nil, fmt.Errorf("unknown op kind %d", op.Kind)
}

// fire delivers one event to every watcher of the given paths; called with
// mu held. Channels are buffered so this never blocks.
func (t *Tree) fire(paths []string) {
	for _, p := range paths {
		for _, w := range t.watchers[p] {
			w.ch <- cluster.Event{Kind: cluster.EventChanged, Path: p}
			close(w.ch)
		}
		delete(t.watchers, p)
	}
}

// unwatch drops a watcher that has not fired; it takes mu.
func (t *Tree) unwatch(p string, ch chan cluster.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ws := t.watchers[p]
	for i, w := range ws {
		if w.ch == ch {
			t.watchers[p] = append(ws[:i:i], ws[i+1:]...)
			close(ch)
			break
		}
	}
	if len(t.watchers[p]) == 0 {
		delete(t.watchers, p)
	}
}

func kindName(k cluster.OpKind) string {
	switch k {
	case cluster.OpCreate:
		return "create"
	case cluster.OpSet:
		return "set"
	case cluster.OpPut:
		return "put"
	case cluster.OpDelete:
		return "delete"
	case cluster.OpCheck:
		return "check"
	}
	return "op?"
}
