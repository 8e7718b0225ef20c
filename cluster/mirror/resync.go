package mirror

import (
	"context"
	"errors"
	"fmt"
	"path"
	"reflect"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/berthops/berth/cluster"
)

// readParallel bounds the reads a resync keeps in flight.
const readParallel = 64

// read is what a resync found in the store.
type read struct {
	leaves map[string]any
	// live are the children of name-only tables, by directory.
	live map[string]map[string]struct{}
	// subs are the sub-directories of two-level tables, by table.
	subs map[string][]string
}

// Resync reads everything the mirror follows from the store, arming the
// watches it lacks, and corrects the mirror where it differs. Nodes that
// changed in the mirror while the resync read (a watch, an Apply) are
// newer than what it read and are left alone. It returns the number of
// nodes that were wrong (drift) and makes a stale mirror fresh unless the
// watches were lost again meanwhile.
func (m *Mirror) Resync(ctx context.Context, reason string) (int, error) {
	select {
	case <-m.started:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	m.resyncMu.Lock()
	defer m.resyncMu.Unlock()
	m.mu.Lock()
	lostAt := m.lost
	m.inflight++
	start := m.epoch
	m.mu.Unlock()
	defer m.end()
	got, err := m.readAll(ctx)
	if err != nil {
		err = fmt.Errorf("resync the cluster mirror: %w", err)
		m.mu.Lock()
		m.resyncErr = err
		close(m.resynced)
		m.resynced = make(chan struct{})
		m.mu.Unlock()
		return 0, err
	}
	m.mu.Lock()
	drift := m.mergeLocked(got, start)
	if !m.synced {
		drift = 0 // the first fill: nothing was known to be wrong
	}
	m.resyncErr = nil
	close(m.resynced)
	m.resynced = make(chan struct{})
	if m.lost == lostAt {
		m.healed = lostAt
	}
	m.synced = true
	m.mu.Unlock()
	if drift > 0 {
		m.log.Warn("cluster mirror resync found drift", "reason", reason, "nodes", drift)
	} else {
		m.log.Debug("cluster mirror resynced", "reason", reason)
	}
	if m.opts.OnResync != nil {
		m.opts.OnResync(reason, drift)
	}
	return drift, nil
}

func (m *Mirror) readAll(ctx context.Context) (*read, error) {
	got := &read{leaves: map[string]any{}, live: map[string]map[string]struct{}{}, subs: map[string][]string{}}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readParallel)
	getLeaf := func(t *table, p string) {
		g.Go(func() error {
			var n cluster.Node
			var err error
			if t.depth == 0 {
				// A single node may not exist yet: only an exists watch
				// tells its creation (a data watch is not armed on a
				// missing node, and it has no parent in the mirror).
				if _, err = m.ensureWatch(p); err == nil {
					n, err = m.store.Get(gctx, p)
				}
			} else {
				// Just listed: the parent's children watch tells if it goes.
				n, err = m.watchAndGet(gctx, p)
			}
			if errors.Is(err, cluster.ErrNotFound) {
				return nil // deleted while listing
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}
			v, err := t.decode(n.Data)
			if err != nil {
				m.log.Warn("cluster mirror: undecodable node left out", "path", p, "err", err)
				return nil
			}
			mu.Lock()
			got.leaves[p] = v
			mu.Unlock()
			return nil
		})
	}
	list := func(p string) ([]string, error) {
		if _, err := m.ensureWatch(p); err != nil {
			return nil, err
		}
		names, err := m.store.Children(gctx, p)
		if errors.Is(err, cluster.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", p, err)
		}
		return names, nil
	}
	for _, t := range m.tables {
		if t.depth == 0 {
			getLeaf(t, t.dir)
			continue
		}
		names, err := list(t.dir)
		if err != nil {
			_ = g.Wait()
			return nil, err
		}
		switch {
		case t.decode == nil:
			set := make(map[string]struct{}, len(names))
			for _, n := range names {
				set[n] = struct{}{}
			}
			got.live[t.dir] = set
		case t.depth == 1:
			for _, n := range names {
				getLeaf(t, path.Join(t.dir, n))
			}
		default:
			got.subs[t.dir] = names
			for _, s := range names {
				sub := path.Join(t.dir, s)
				kids, err := list(sub)
				if err != nil {
					_ = g.Wait()
					return nil, err
				}
				for _, n := range kids {
					getLeaf(t, path.Join(sub, n))
				}
			}
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return got, nil
}

// queuedLocked reports whether a watch on p, or on the directories above it,
// fired and its read is still to come: the mirror was about to learn of
// the change, so a resync that finds it first has not found drift. (A
// resync that runs while agents write, as a new leader's does, would
// otherwise count every status in flight.)
func (m *Mirror) queuedLocked(p string) bool {
	for range 3 {
		if _, ok := m.pending[p]; ok || m.busy[p] {
			return true
		}
		if _, ok := m.deferred[p]; ok {
			return true
		}
		p = path.Dir(p)
	}
	return false
}

// mergeLocked corrects the mirror with what a resync that started at epoch
// start read, and counts the corrections.
func (m *Mirror) mergeLocked(got *read, start uint64) int {
	drift := 0
	for p, v := range got.leaves {
		if m.newerThan(p, start) {
			// The mirror changed p after this read began; whether the
			// read is older or newer (deleted, then created again) is
			// unknown, so p is read once more.
			m.enqueueLocked(p, false)
			continue
		}
		if cur := m.leaves[p]; cur == nil || !reflect.DeepEqual(cur.val, v) {
			t, _, _ := m.classify(p)
			m.setLocked(t, p, v)
			if !m.queuedLocked(p) {
				drift++
			}
		}
	}
	for p, l := range m.leaves {
		if _, ok := got.leaves[p]; ok || l.changed > start {
			continue
		}
		t, _, _ := m.classify(p)
		m.deleteLocked(t, p)
		if !m.queuedLocked(p) {
			drift++
		}
	}
	for dir, names := range got.live {
		d := m.dir(dir)
		if d.changed > start {
			m.enqueueLocked(dir, false)
			continue
		}
		if sameKeys(d.kids, names) {
			continue
		}
		t, _, _ := m.classify(dir)
		if !m.queuedLocked(dir) {
			for n := range names {
				if _, ok := d.kids[n]; !ok {
					drift++
				}
			}
			for n := range d.kids {
				if _, ok := names[n]; !ok {
					drift++
				}
			}
		}
		m.bumpLocked(t, dir)
		d.kids, d.sorted, d.changed = names, nil, m.epoch
	}
	for dir, subs := range got.subs {
		top := m.dir(dir)
		listed := make(map[string]struct{}, len(subs))
		for _, s := range subs {
			listed[s] = struct{}{}
			if _, ok := top.kids[s]; !ok {
				top.kids[s] = struct{}{}
				top.sorted = nil
			}
			m.dir(path.Join(dir, s))
		}
		t, _, _ := m.classify(dir)
		for s := range top.kids {
			if _, ok := listed[s]; !ok && m.dropSubLocked(t, path.Join(dir, s), start) {
				delete(top.kids, s)
				top.sorted = nil
			}
		}
	}
	return drift
}
