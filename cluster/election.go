package cluster

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"sync"
	"time"
)

// SessionStore is what the election recipe needs from a store beyond the
// Store interface: sequential ephemeral nodes and the lifetime of the current
// session. Both stores implement it and share Campaign below, so the recipe
// is written (and tested) once.
type SessionStore interface {
	Get(ctx context.Context, path string) (Node, error)
	Children(ctx context.Context, path string) ([]string, error)
	Multi(ctx context.Context, ops ...Op) error
	Watch(ctx context.Context, path string) (<-chan Event, error)
	// CreateEphemeralSequential creates prefix+<10-digit counter> tied to the
	// current session and returns its path.
	CreateEphemeralSequential(ctx context.Context, prefix string, data []byte) (string, error)
	// Session returns a channel closed when the current session ends.
	Session() <-chan struct{}
}

// candidatePrefix names election nodes: the classic ZooKeeper recipe, the
// lowest sequence number leads and every other candidate watches the one just
// before it, so a leader's death wakes one candidate, not all of them.
const candidatePrefix = "n_"

// Campaign runs the election recipe under dir for id. See Store.Campaign.
func Campaign(ctx context.Context, s SessionStore, dir, id string) (Leadership, error) {
	for {
		sess := s.Session()
		select {
		case <-sess:
			return nil, ErrClosed
		default:
		}
		if err := ensure(ctx, s, dir); err != nil {
			return nil, fmt.Errorf("campaign in %s: %w", dir, err)
		}
		me, err := s.CreateEphemeralSequential(ctx, path.Join(dir, candidatePrefix), []byte(id))
		if err != nil {
			return nil, fmt.Errorf("campaign in %s: %w", dir, err)
		}
		lead, err := waitTurn(ctx, s, sess, dir, me, id)
		if errors.Is(err, errRestart) {
			continue // our session (and node) went away: enter again
		}
		if err != nil {
			// Leave the election so we do not become leader unasked.
			_ = s.Multi(context.WithoutCancel(ctx), Delete(me, AnyVersion))
			return nil, err
		}
		return lead, nil
	}
}

var errRestart = errors.New("candidate node lost")

func waitTurn(ctx context.Context, s SessionStore, sess <-chan struct{}, dir, me, id string) (Leadership, error) {
	name := path.Base(me)
	for {
		names, err := candidates(ctx, s, dir)
		if err != nil {
			return nil, fmt.Errorf("campaign in %s: %w", dir, err)
		}
		if stale, err := removeStale(ctx, s, dir, names, name, id); err != nil {
			return nil, err
		} else if stale {
			continue
		}
		i := sort.SearchStrings(seqKeys(names), seqKey(name))
		if i == len(names) || names[i] != name {
			return nil, errRestart
		}
		if i == 0 {
			return newLeadership(ctx, s, sess, me, id), nil
		}
		pred := path.Join(dir, names[i-1])
		changed, err := s.Watch(ctx, pred)
		if err != nil {
			return nil, fmt.Errorf("campaign in %s: watch %s: %w", dir, pred, err)
		}
		if _, err := s.Get(ctx, pred); errors.Is(err, ErrNotFound) {
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-sess:
			return nil, errRestart
		case <-changed:
		}
	}
}

// removeStale deletes our own candidate nodes other than the current one:
// left by a leadership we gave up for lost (cut off for the whole session
// timeout) whose session the ensemble kept after all. Any of them ahead of us
// would make us wait for ourselves, and everyone else wait for a leader that
// does not lead. It reports whether it removed any.
func removeStale(ctx context.Context, s SessionStore, dir string, names []string, me, id string) (bool, error) {
	removed := false
	for _, n := range names {
		if n == me {
			continue
		}
		p := path.Join(dir, n)
		node, err := s.Get(ctx, p)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("campaign in %s: %w", dir, err)
		}
		if string(node.Data) != id {
			continue
		}
		if err := s.Multi(ctx, Delete(p, AnyVersion)); err != nil && !errors.Is(err, ErrNotFound) {
			return false, fmt.Errorf("campaign in %s: remove stale candidate %s: %w", dir, p, err)
		}
		removed = true
	}
	return removed, nil
}

// candidates lists election nodes sorted by sequence number (go-zookeeper's
// protected creates put a prefix before the name, so sort on the suffix).
func candidates(ctx context.Context, s SessionStore, dir string) ([]string, error) {
	names, err := s.Children(ctx, dir)
	if err != nil {
		return nil, err
	}
	sort.Slice(names, func(i, j int) bool { return seqKey(names[i]) < seqKey(names[j]) })
	return names, nil
}

func seqKey(name string) string {
	if len(name) >= 10 {
		return name[len(name)-10:]
	}
	return name
}

func seqKeys(names []string) []string {
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = seqKey(n)
	}
	return keys
}

// LeaderOf returns the id of the leader of the election under dir.
func LeaderOf(ctx context.Context, s SessionStore, dir string) (string, error) {
	names, err := candidates(ctx, s, dir)
	if err != nil {
		return "", fmt.Errorf("leader of %s: %w", dir, err)
	}
	for _, n := range names {
		node, err := s.Get(ctx, path.Join(dir, n))
		if errors.Is(err, ErrNotFound) {
			continue // left while we listed
		}
		if err != nil {
			return "", fmt.Errorf("leader of %s: %w", dir, err)
		}
		return string(node.Data), nil
	}
	return "", fmt.Errorf("leader of %s: %w", dir, ErrNotFound)
}

type leadership struct {
	s      SessionStore
	node   string
	id     string
	lost   chan struct{}
	once   sync.Once
	cancel context.CancelFunc
}

func newLeadership(ctx context.Context, s SessionStore, sess <-chan struct{}, node, id string) *leadership {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &leadership{s: s, node: node, id: id, lost: make(chan struct{}), cancel: cancel}
	go l.watch(wctx, sess)
	return l
}

// watch ends the leadership when the session ends or the node goes away
// (someone deleted it, or the server expired the session first).
func (l *leadership) watch(ctx context.Context, sess <-chan struct{}) {
	defer l.end()
	for {
		changed, err := l.s.Watch(ctx, l.node)
		if err == nil {
			_, err = l.s.Get(ctx, l.node)
		}
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrClosed) {
			return
		}
		if err != nil {
			// Connection trouble is not lost leadership: the session (and
			// the fence) decide that. Look again in a moment.
			select {
			case <-ctx.Done():
				return
			case <-sess:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-sess:
			return
		case ev := <-changed:
			if ev.Kind == EventSessionLost {
				return
			}
		}
	}
}

func (l *leadership) end() {
	l.once.Do(func() { close(l.lost) })
}

func (l *leadership) ID() string            { return l.id }
func (l *leadership) Fence() Op             { return FenceCheck(l.node) }
func (l *leadership) Lost() <-chan struct{} { return l.lost }
func (l *leadership) Resign(ctx context.Context) error {
	l.cancel()
	l.end()
	err := l.s.Multi(ctx, Delete(l.node, AnyVersion))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("resign %s: %w", l.id, err)
	}
	return nil
}
