package mirror

import (
	"context"
	"errors"
	"fmt"
	"path"
	"reflect"

	"github.com/berthops/berth/cluster"
)

// ensureWatch arms a watch on p unless one is armed, and reports whether it
// armed one. ZooKeeper (go-zookeeper v1.0.4) has no persistent or recursive
// watches, so a status that changes in place fires only a watch on its own
// node: every mirrored node has one (zkstore shares it per path). The watch
// lives until it fires or the mirror stops; when it fires its path is queued
// to be read again. Over a store that can call a function when a watch
// fires (cluster.FuncWatcher: zkstore), no goroutine waits on each watch:
// at 150,000 tasks the leader watches some 300,000 nodes.
func (m *Mirror) ensureWatch(p string) (bool, error) {
	m.mu.Lock()
	if m.watching[p] {
		m.mu.Unlock()
		return false, nil
	}
	m.watching[p] = true
	m.mu.Unlock()
	var err error
	if fw, ok := m.store.(cluster.FuncWatcher); ok {
		// A leaf's children never matter: its data and existence only.
		_, isLeaf, _ := m.classify(p)
		err = fw.WatchFunc(m.runCtx, p, !isLeaf, func(ev cluster.Event) { m.fired(p, ev, true) })
	} else {
		var ch <-chan cluster.Event
		if ch, err = m.store.Watch(m.runCtx, p); err == nil {
			go func() {
				ev, ok := <-ch
				m.fired(p, ev, ok)
			}()
		}
	}
	if err != nil {
		m.mu.Lock()
		delete(m.watching, p)
		m.mu.Unlock()
		return false, fmt.Errorf("watch %s: %w", p, err)
	}
	return true, nil
}

// watchAndGet arms p's watch unless one is armed and reads p: in one
// request over a cluster.FuncWatcher, which is most of what a new leader's
// first full read costs.
// It is for a node just listed in its parent: a missing node gets no
// watch, its parent's children watch tells its creation.
func (m *Mirror) watchAndGet(ctx context.Context, p string) (cluster.Node, error) {
	fw, ok := m.store.(cluster.FuncWatcher)
	if !ok {
		if _, err := m.ensureWatch(p); err != nil {
			return cluster.Node{}, err
		}
		return m.store.Get(ctx, p)
	}
	m.mu.Lock()
	if m.watching[p] {
		m.mu.Unlock()
		return m.store.Get(ctx, p)
	}
	m.watching[p] = true
	m.mu.Unlock()
	n, err := fw.GetWatchFunc(m.runCtx, p, func(ev cluster.Event) { m.fired(p, ev, true) })
	if err != nil {
		m.mu.Lock()
		delete(m.watching, p)
		m.mu.Unlock()
		if !errors.Is(err, cluster.ErrNotFound) {
			err = fmt.Errorf("watch %s: %w", p, err)
		}
		return cluster.Node{}, err
	}
	return n, nil
}

// fired handles p's watch firing; ok false means the watch was abandoned
// because the mirror stopped.
func (m *Mirror) fired(p string, ev cluster.Event, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.watching, p)
	switch {
	case !ok:
		// The mirror stopped.
	case ev.Kind == cluster.EventSessionLost:
		m.lostLocked()
	default:
		m.enqueueLocked(p, false)
	}
}

// enqueueLocked queues p to be read again. watchFirst says p is known to
// exist (just listed), so its watch can be armed before the one read.
func (m *Mirror) enqueueLocked(p string, watchFirst bool) {
	if wf, ok := m.pending[p]; ok {
		m.pending[p] = wf && watchFirst
		return
	}
	m.pending[p] = watchFirst
	m.order = append(m.order, p)
	m.cond.Signal()
}

// next takes a queued path no other worker is reading.
func (m *Mirror) next(ctx context.Context) (string, bool, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		if ctx.Err() != nil {
			return "", false, false
		}
		for len(m.order) > 0 {
			p := m.order[0]
			m.order[0] = ""
			m.order = m.order[1:]
			wf, ok := m.pending[p]
			if !ok {
				continue
			}
			delete(m.pending, p)
			if m.busy[p] {
				// Two reads of one path at once could land out of order.
				m.deferred[p] = m.deferred[p] || wf
				continue
			}
			m.busy[p] = true
			m.inflight++
			return p, wf, true
		}
		if len(m.order) == 0 && cap(m.order) > 1024 {
			m.order = nil
		}
		m.cond.Wait()
	}
}

func (m *Mirror) work(ctx context.Context) {
	for {
		p, watchFirst, ok := m.next(ctx)
		if !ok {
			return
		}
		m.mu.Lock()
		start := m.epoch
		m.mu.Unlock()
		err := m.refresh(ctx, p, watchFirst, start)
		m.mu.Lock()
		delete(m.busy, p)
		if wf, ok := m.deferred[p]; ok {
			delete(m.deferred, p)
			m.enqueueLocked(p, wf)
		}
		if err != nil && ctx.Err() == nil {
			// What the store holds is unknown now: read it all again
			// before anyone decides on it.
			m.log.Warn("cluster mirror: re-reading a node failed; resyncing", "path", p, "err", err)
			m.lostLocked()
		}
		m.endLocked()
		m.mu.Unlock()
	}
}

// refresh reads p again after its watch fired (or it was just listed) and
// re-arms its watch. A node that is gone is not watched again: ZooKeeper
// would keep an exists watch on it forever, and its parent's children watch
// reports a re-creation. So a node that may be gone is read first, then
// watched, then read again to close the gap; one just listed is watched,
// then read.
func (m *Mirror) refresh(ctx context.Context, p string, watchFirst bool, start uint64) error {
	t, isLeaf, ok := m.classify(p)
	if !ok {
		return nil
	}
	if !isLeaf {
		return m.refreshDir(ctx, t, p, start)
	}
	if t.decode == nil {
		return nil
	}
	var n cluster.Node
	var err error
	if t.depth == 0 || watchFirst {
		if _, err := m.ensureWatch(p); err != nil {
			return err
		}
		n, err = m.store.Get(ctx, p)
	} else {
		n, err = m.store.Get(ctx, p)
		if err == nil {
			var armed bool
			if armed, err = m.ensureWatch(p); err == nil && armed {
				n, err = m.store.Get(ctx, p)
			}
		}
	}
	found := err == nil
	if err != nil && !errors.Is(err, cluster.ErrNotFound) {
		return fmt.Errorf("read %s: %w", p, err)
	}
	var v any
	if found {
		if v, err = t.decode(n.Data); err != nil {
			// One damaged node must not stop the mirror: it is left out,
			// as if absent, and named in the log.
			m.log.Warn("cluster mirror: undecodable node left out", "path", p, "err", err)
			found = false
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applyLeafLocked(t, p, v, found, start)
	return nil
}

func (m *Mirror) applyLeafLocked(t *table, p string, v any, found bool, start uint64) {
	if m.newerThan(p, start) {
		m.enqueueLocked(p, false) // the answer is older than the mirror: ask again
		return
	}
	cur := m.leaves[p]
	switch {
	case !found:
		if cur != nil {
			m.deleteLocked(t, p)
		}
	case cur == nil || !reflect.DeepEqual(cur.val, v):
		m.setLocked(t, p, v)
	}
}

// refreshDir lists a directory again and queues its new children; children
// that went away are dropped.
func (m *Mirror) refreshDir(ctx context.Context, t *table, p string, start uint64) error {
	root := p == t.dir
	var names []string
	var err error
	if root {
		if _, err := m.ensureWatch(p); err != nil {
			return err
		}
		names, err = m.store.Children(ctx, p)
	} else {
		names, err = m.store.Children(ctx, p)
		if err == nil {
			var armed bool
			if armed, err = m.ensureWatch(p); err == nil && armed {
				names, err = m.store.Children(ctx, p)
			}
		}
	}
	if errors.Is(err, cluster.ErrNotFound) {
		names, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", p, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applyDirLocked(t, p, names, start)
	return nil
}

func (m *Mirror) applyDirLocked(t *table, p string, names []string, start uint64) {
	listed := make(map[string]struct{}, len(names))
	for _, n := range names {
		listed[n] = struct{}{}
	}
	d := m.dir(p)
	switch {
	case t.decode == nil:
		// Children by name only (live agents): the listing is the value.
		if d.changed > start {
			m.enqueueLocked(p, false)
			return
		}
		if !sameKeys(d.kids, listed) {
			m.bumpLocked(t, p)
			d.kids, d.sorted, d.changed = listed, nil, m.epoch
		}
	case t.depth == 2 && p == t.dir:
		// Sub-directories (one per agent): follow new ones, drop gone ones.
		for _, n := range names {
			if _, ok := d.kids[n]; !ok {
				d.kids[n] = struct{}{}
				d.sorted = nil
				m.enqueueLocked(path.Join(p, n), false)
			}
		}
		for n := range d.kids {
			if _, ok := listed[n]; ok {
				continue
			}
			sub := path.Join(p, n)
			if m.dropSubLocked(t, sub, start) {
				delete(d.kids, n)
				d.sorted = nil
			}
		}
	default:
		for _, n := range names {
			c := path.Join(p, n)
			if _, ok := d.kids[n]; ok {
				if !m.watching[c] {
					// Known from the leader's own write (Apply), not yet
					// watched: watch it, so a later change is seen.
					m.enqueueLocked(c, true)
				}
				continue
			}
			if m.gone[c] > start {
				// Deleted after the listing started: the name is either
				// the old node or a new one of the same name. List again.
				m.enqueueLocked(p, false)
				continue
			}
			m.enqueueLocked(c, true)
		}
		for n := range d.kids {
			if _, ok := listed[n]; ok {
				continue
			}
			if c := path.Join(p, n); !m.newerThan(c, start) {
				m.deleteLocked(t, c)
			}
		}
	}
}

// dropSubLocked forgets a sub-directory that was removed, unless one of its
// leaves changed after the listing started.
func (m *Mirror) dropSubLocked(t *table, sub string, start uint64) bool {
	d := m.dirs[sub]
	if d == nil {
		return true
	}
	for n := range d.kids {
		if m.newerThan(path.Join(sub, n), start) {
			return false
		}
	}
	for _, n := range d.names() {
		m.deleteLocked(t, path.Join(sub, n))
	}
	delete(m.dirs, sub)
	return true
}

func sameKeys(a, b map[string]struct{}) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}
