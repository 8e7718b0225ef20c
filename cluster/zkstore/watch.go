package zkstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"

	"github.com/berthops/berth/cluster"
)

// pathWatch shares ZooKeeper watches on one path between every caller of
// Watch. The client library cannot remove a watch, so arming a new one for
// each caller would pile up a watch per call on nodes that rarely change
// (an agent re-watching each of its assignments after every change); with
// sharing a path holds at most one exists and one children watch.
//
// Firings are delivered from the client's event callback (onEvent), not by
// a goroutine waiting on each watch's channel: a leader's cache watches every
// assignment and status, and at 150,000 tasks two goroutines per node were
// 600,000 goroutines and gigabytes of stacks. The client's own channels are
// buffered and closed when they fire, so leaving them unread costs nothing.
type pathWatch struct {
	// exists and children say a watch of that kind is armed or being armed:
	// set before the request, cleared by any event that fires that kind.
	exists, children bool
	// fired counts firings, so an arm that failed after a firing does not
	// clear the flag a newer arm set.
	fired uint64
	subs  map[*watchSub]struct{}
}

// watchSub is one caller's interest: fn runs once, on the client's receive
// goroutine, and must not block.
type watchSub struct {
	fn func(cluster.Event)
	// stop ends the subscription's context.AfterFunc once it fired, so a
	// long-lived context does not keep one registration per firing.
	stop func() bool
}

var _ cluster.FuncWatcher = (*Store)(nil)

// Watch implements cluster.Store.
func (s *Store) Watch(ctx context.Context, p string) (<-chan cluster.Event, error) {
	out := make(chan cluster.Event, 1)
	sub := &watchSub{fn: func(ev cluster.Event) {
		out <- ev
		close(out)
	}}
	// Abandoned: the channel is closed, as the interface promises.
	if err := s.watch(ctx, p, true, sub, func() { close(out) }); err != nil {
		return nil, err
	}
	return out, nil
}

// WatchFunc implements cluster.FuncWatcher: fn is called once, from the
// ZooKeeper client's receive goroutine (it must not block), when the node
// changes or the session is lost; never once ctx has ended.
func (s *Store) WatchFunc(ctx context.Context, p string, children bool, fn func(cluster.Event)) error {
	return s.watch(ctx, p, children, &watchSub{fn: fn}, nil)
}

// GetWatchFunc implements cluster.FuncWatcher: one getData with a watch,
// which ZooKeeper fires on the same events as the exists watch a leaf's
// WatchFunc arms.
func (s *Store) GetWatchFunc(ctx context.Context, p string, fn func(cluster.Event)) (cluster.Node, error) {
	if s.isClosed() {
		return cluster.Node{}, cluster.ErrClosed
	}
	full := s.full(p)
	sub := &watchSub{fn: fn}
	s.wmu.Lock()
	pw := s.watches[full]
	if pw == nil {
		pw = &pathWatch{subs: map[*watchSub]struct{}{}}
		s.watches[full] = pw
	}
	needExists := !pw.exists
	pw.exists = true
	fired := pw.fired
	pw.subs[sub] = struct{}{}
	sub.stop = context.AfterFunc(ctx, func() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		delete(pw.subs, sub)
	})
	s.wmu.Unlock()

	s.reads.Add(1)
	type got struct {
		data []byte
		stat *zk.Stat
	}
	g, err := call(ctx, func() (got, error) {
		if !needExists {
			d, st, err := s.conn.Get(full)
			return got{d, st}, err
		}
		d, st, _, err := s.conn.GetW(full)
		return got{d, st}, err
	})
	if err != nil {
		// No node, no data watch: ZooKeeper arms none on a missing node.
		s.wmu.Lock()
		delete(pw.subs, sub)
		sub.stop()
		if pw.fired == fired && needExists {
			pw.exists = false
		}
		s.dropIdleLocked(full, pw)
		s.wmu.Unlock()
		return cluster.Node{}, fmt.Errorf("get %s: %w", p, mapErr(err))
	}
	return cluster.Node{Path: p, Data: g.data, Version: g.stat.Version}, nil
}

// watch subscribes sub to p's next firing, arming what is missing (the
// children watch only if children is set). The
// subscription comes first: a firing while the arm is in flight reaches
// it (and is at worst spurious), so no change after watch returns is
// missed. abandoned runs if ctx ends before a firing.
func (s *Store) watch(ctx context.Context, p string, children bool, sub *watchSub, abandoned func()) error {
	if s.isClosed() {
		return cluster.ErrClosed
	}
	full := s.full(p)
	s.wmu.Lock()
	pw := s.watches[full]
	if pw == nil {
		pw = &pathWatch{subs: map[*watchSub]struct{}{}}
		s.watches[full] = pw
	}
	needExists, needChildren := !pw.exists, children && !pw.children
	pw.exists, pw.children = true, pw.children || children
	fired := pw.fired
	pw.subs[sub] = struct{}{}
	sub.stop = context.AfterFunc(ctx, func() {
		s.wmu.Lock()
		_, ok := pw.subs[sub]
		delete(pw.subs, sub)
		s.wmu.Unlock()
		if ok && abandoned != nil {
			abandoned()
		}
	})
	s.wmu.Unlock()

	if needExists || needChildren {
		s.reads.Add(1)
		_, err := call(ctx, func() (struct{}, error) {
			ok := true // with an exists watch armed, try the children: ErrNoNode is fine
			if needExists {
				var err error
				if ok, _, _, err = s.conn.ExistsW(full); err != nil {
					return struct{}{}, err
				}
			}
			if !needChildren {
				return struct{}{}, nil
			}
			if ok {
				_, _, _, err := s.conn.ChildrenW(full)
				if err == nil {
					return struct{}{}, nil
				}
				if !errors.Is(err, zk.ErrNoNode) {
					return struct{}{}, err
				}
			}
			// The node does not exist (or was deleted in between): its
			// creation fires the exists watch; no children watch is armed.
			s.wmu.Lock()
			if pw.fired == fired {
				pw.children = false
			}
			s.wmu.Unlock()
			return struct{}{}, nil
		})
		if err != nil {
			s.wmu.Lock()
			delete(pw.subs, sub)
			sub.stop()
			if pw.fired == fired {
				// Nothing fired since: what this call meant to arm is not.
				pw.exists = pw.exists && !needExists
				pw.children = pw.children && !needChildren
			}
			s.dropIdleLocked(full, pw)
			s.wmu.Unlock()
			return fmt.Errorf("watch %s: %w", p, mapErr(err))
		}
	}
	return nil
}

// dropIdleLocked forgets pw once it has nothing armed and no subscriber.
func (s *Store) dropIdleLocked(full string, pw *pathWatch) {
	if !pw.exists && !pw.children && len(pw.subs) == 0 && s.watches[full] == pw {
		delete(s.watches, full)
	}
}

// onWatchEvent delivers one ZooKeeper watch firing (or the loss of every
// watch with the session) to the path's subscribers; called from the
// client's event callback.
func (s *Store) onWatchEvent(ev zk.Event) {
	var exists, children bool
	out := cluster.Event{Kind: cluster.EventChanged}
	switch ev.Type {
	case zk.EventNodeCreated, zk.EventNodeDataChanged:
		exists = true
	case zk.EventNodeChildrenChanged:
		children = true
	case zk.EventNodeDeleted:
		exists, children = true, true
	case zk.EventNotWatching:
		exists, children = true, true
		out = cluster.Event{Kind: cluster.EventSessionLost, Err: mapErr(ev.Err)}
	default:
		return
	}
	out.Path = s.rel(ev.Path)
	s.wmu.Lock()
	pw := s.watches[ev.Path]
	if pw == nil {
		s.wmu.Unlock()
		return
	}
	pw.fired++
	if exists {
		pw.exists = false
	}
	if children {
		pw.children = false
	}
	subs := make([]*watchSub, 0, len(pw.subs))
	for sub := range pw.subs {
		subs = append(subs, sub)
	}
	clear(pw.subs)
	if !pw.exists && !pw.children {
		delete(s.watches, ev.Path)
	}
	s.wmu.Unlock()
	// Outside the lock: a subscriber may take its own locks, and must
	// never wait for this store.
	for _, sub := range subs {
		sub.stop()
		sub.fn(out)
	}
}
