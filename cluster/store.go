package cluster

import (
	"context"
	"errors"
)

// Errors every Store returns, so callers decide on them with errors.Is
// whatever the backing store is.
var (
	ErrNotFound = errors.New("node does not exist")
	ErrExists   = errors.New("node already exists")
	// ErrVersion means a conditional write saw another version: someone else
	// changed the node since it was read.
	ErrVersion  = errors.New("version conflict")
	ErrNotEmpty = errors.New("node has children")
	// ErrFenced means a write carried a leadership fence that no longer holds:
	// the writer was deposed (its session expired or it resigned).
	ErrFenced = errors.New("write fenced: not the leader any more")
	// ErrClosed means the store (or its session) was closed by its owner.
	ErrClosed = errors.New("store closed")
)

// AnyVersion makes a Set, Delete or Check unconditional.
const AnyVersion int32 = -1

// Node is one stored value with the version a conditional write must name.
type Node struct {
	Path    string
	Data    []byte
	Version int32
}

// OpKind says what an Op does.
type OpKind int

const (
	// OpCreate creates a node that must not exist. Missing parents are
	// created empty.
	OpCreate OpKind = iota + 1
	// OpSet replaces the data of an existing node at Version (or AnyVersion).
	OpSet
	// OpPut creates or replaces a node whatever its version: the form agents
	// use for statuses they own, where no one else writes.
	OpPut
	// OpDelete removes a childless node at Version (or AnyVersion).
	OpDelete
	// OpCheck writes nothing and fails the whole transaction unless the node
	// exists at Version (or at all, with AnyVersion).
	OpCheck
)

// Op is one operation of an atomic multi-operation transaction.
type Op struct {
	Kind    OpKind
	Path    string
	Data    []byte
	Version int32
	// fence marks the Check that carries a leadership, so a failure of it is
	// reported as ErrFenced instead of ErrNotFound.
	fence bool
	// ifExists makes a Delete of a missing node a no-op instead of failing
	// the transaction.
	ifExists bool
}

// Create returns an OpCreate.
func Create(path string, data []byte) Op { return Op{Kind: OpCreate, Path: path, Data: data} }

// Set returns an OpSet conditional on version.
func Set(path string, data []byte, version int32) Op {
	return Op{Kind: OpSet, Path: path, Data: data, Version: version}
}

// Put returns an OpPut.
func Put(path string, data []byte) Op {
	return Op{Kind: OpPut, Path: path, Data: data, Version: AnyVersion}
}

// Delete returns an OpDelete conditional on version.
func Delete(path string, version int32) Op { return Op{Kind: OpDelete, Path: path, Version: version} }

// DeleteIfExists returns an unconditional OpDelete that does nothing when
// the node does not exist: for removing what may never have been written
// (the status of a task whose agent died before reporting it), where a
// failure would fail every other write of the transaction with it.
func DeleteIfExists(path string) Op {
	return Op{Kind: OpDelete, Path: path, Version: AnyVersion, ifExists: true}
}

// IfExists reports whether op is a Delete that tolerates a missing node.
func (op Op) IfExists() bool { return op.ifExists }

// Check returns an OpCheck.
func Check(path string, version int32) Op { return Op{Kind: OpCheck, Path: path, Version: version} }

// FenceCheck returns the check that fences a leader's writes on its election
// node: stores report its failure as ErrFenced. Store implementations use it
// to build Leadership.Fence.
func FenceCheck(path string) Op {
	return Op{Kind: OpCheck, Path: path, Version: AnyVersion, fence: true}
}

// IsFence reports whether op is a leadership fence.
func (op Op) IsFence() bool { return op.fence }

// EventKind says why a watch fired.
type EventKind int

const (
	// EventChanged: the node was created, deleted, its data or its children changed.
	EventChanged EventKind = iota + 1
	// EventSessionLost: the watch was lost with the session (expired or
	// closed); the caller should re-read everything.
	EventSessionLost
)

// Event is delivered once on a watch channel.
type Event struct {
	Kind EventKind
	Path string
	Err  error
}

// FuncWatcher is a Store that can call a function when a watch fires
// instead of filling a channel, so a cache watching hundreds of thousands
// of nodes needs no goroutine per node to wait on each (zkstore implements
// it). fn runs once, on the store's own event goroutine, and must return
// quickly without calling the store; it is never called once ctx has
// ended. The Event and the guarantees are Watch's, except that with
// children false a change of the node's children need not fire it: a leaf
// (a status, an assignment) then costs ZooKeeper one watch, not two.
type FuncWatcher interface {
	WatchFunc(ctx context.Context, path string, children bool, fn func(Event)) error
	// GetWatchFunc reads a node and watches its data and existence in one
	// request (a leaf's WatchFunc and Get, at half the round trips: a new
	// leader reads 300,000 of them at 150,000 tasks). A node that does not
	// exist is ErrNotFound, and then fn is not armed.
	GetWatchFunc(ctx context.Context, path string, fn func(Event)) (Node, error)
}

// Store is the storage contract Berth's servers and agents share. Paths are
// absolute, slash-separated and relative to the store's root (a zkstore adds
// its chroot). Every method blocks at most until ctx is done or the store's
// session gives up.
type Store interface {
	// Get reads one node; ErrNotFound if it does not exist.
	Get(ctx context.Context, path string) (Node, error)
	// Children lists the names (not paths) of a node's children, sorted.
	Children(ctx context.Context, path string) ([]string, error)
	// Multi applies ops atomically: all or none. The error names the first
	// failing op and wraps ErrNotFound, ErrExists, ErrVersion, ErrNotEmpty or
	// ErrFenced.
	Multi(ctx context.Context, ops ...Op) error
	// Watch returns a channel that receives one Event and is closed when the
	// node at path is created, deleted, changes data or gains or loses a child,
	// or when the session is lost. Watch first, then read: that way no change
	// is missed (level-triggered, like ZooKeeper's own watches).
	Watch(ctx context.Context, path string) (<-chan Event, error)
	// Register creates an ephemeral node that lives as long as the store's
	// session and is re-created by the store when a new session replaces an
	// expired one. Its parent must exist (it is created if missing).
	Register(ctx context.Context, path string, data []byte) (Registration, error)
	// Campaign enters the election under dir as id and blocks until this
	// candidate leads, ctx is done (ctx.Err()) or the store is closed.
	Campaign(ctx context.Context, dir, id string) (Leadership, error)
	// Leader returns the id of the current leader of the election under dir,
	// ErrNotFound if there is none.
	Leader(ctx context.Context, dir string) (string, error)
	// Close ends the session: its ephemeral nodes go away and its leadership
	// ends.
	Close() error
}

// Registration is a live ephemeral node.
type Registration interface {
	// Path is the node's path.
	Path() string
	// Close deletes the node and stops re-creating it.
	Close(ctx context.Context) error
}

// Leadership is a won election. Every write a leader makes must include
// Fence() in the same Multi, so that a leader that was deposed without
// knowing it yet (paused, partitioned) cannot change anything.
type Leadership interface {
	// ID is the candidate id that won.
	ID() string
	// Fence is the check op that holds only while this leadership does.
	Fence() Op
	// Lost is closed when the leadership ended: session expired, store
	// closed or Resign called.
	Lost() <-chan struct{}
	// Resign gives up leadership so another candidate takes over.
	Resign(ctx context.Context) error
}
