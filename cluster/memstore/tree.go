package memstore

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
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
// rewritten atomically (temp file and rename) within saveDelay of a change;
// Close writes what is pending. Ephemeral nodes are not persisted, as they
// would not survive a restart of their session either.
func Open(file string) (*Tree, error) {
	t := New()
	t.file = file
	raw, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open state file: %w", err)
	}
	var saved map[string]savedNode
	if err := json.Unmarshal(raw, &saved); err != nil {
		return nil, fmt.Errorf("state file %s: %w", file, err)
	}
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
	return t, nil
}

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
	t.mu.Unlock()
	err := writeFile(t.file, out)
	if err != nil {
		t.mu.Lock()
		t.saveErr = err
		t.dirty = true
		t.mu.Unlock()
	}
	return err
}

// Close writes pending changes and stops scheduling writes; later changes
// stay in memory only.
func (t *Tree) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return t.Flush()
}

func writeFile(file string, nodes map[string]savedNode) error {
	raw, err := json.Marshal(nodes)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".state-*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
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
