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
type pathWatch struct {
	exists   <-chan zk.Event // armed exists watch, nil if none
	children <-chan zk.Event // armed children watch, nil if none
	subs     map[chan cluster.Event]struct{}
}

// Watch implements cluster.Store.
func (s *Store) Watch(ctx context.Context, p string) (<-chan cluster.Event, error) {
	if s.isClosed() {
		return nil, cluster.ErrClosed
	}
	full := s.full(p)
	s.wmu.Lock()
	pw := s.watches[full]
	if pw == nil {
		pw = &pathWatch{subs: map[chan cluster.Event]struct{}{}}
		s.watches[full] = pw
	}
	needExists, needChildren := pw.exists == nil, pw.children == nil
	s.wmu.Unlock()

	// Arm what is missing before subscribing: any change after this point
	// fires a watch this caller is subscribed to.
	var ex, ch <-chan zk.Event
	if needExists || needChildren {
		s.reads.Add(1)
		type armed struct{ ex, ch <-chan zk.Event }
		a, err := call(ctx, func() (armed, error) {
			var a armed
			ok := true // with an exists watch armed, try the children: ErrNoNode is fine
			if needExists {
				var err error
				ok, _, a.ex, err = s.conn.ExistsW(full)
				if err != nil {
					return a, err
				}
			}
			if ok && needChildren {
				_, _, cw, err := s.conn.ChildrenW(full)
				if err != nil && !errors.Is(err, zk.ErrNoNode) { // deleted in between: ew fires
					return a, err
				}
				a.ch = cw
			}
			return a, nil
		})
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", p, mapErr(err))
		}
		ex, ch = a.ex, a.ch
	}

	out := make(chan cluster.Event, 1)
	s.wmu.Lock()
	if cur := s.watches[full]; cur != pw {
		// Fired and dropped while we armed: start over on a fresh entry.
		s.wmu.Unlock()
		return s.Watch(ctx, p)
	}
	// A concurrent caller may have armed too: keep one, the other still
	// fires into its own goroutine and finds no subscribers left or shares.
	if ex != nil && pw.exists == nil {
		pw.exists = ex
		go s.await(full, pw, ex, true)
	}
	if ch != nil && pw.children == nil {
		pw.children = ch
		go s.await(full, pw, ch, false)
	}
	pw.subs[out] = struct{}{}
	s.wmu.Unlock()
	context.AfterFunc(ctx, func() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if _, ok := pw.subs[out]; ok {
			delete(pw.subs, out)
			close(out)
		}
	})
	return out, nil
}

// await delivers one firing of a ZooKeeper watch to every subscriber of
// the path at that moment.
func (s *Store) await(full string, pw *pathWatch, zch <-chan zk.Event, isExists bool) {
	ev := <-zch
	out := cluster.Event{Kind: cluster.EventChanged, Path: s.rel(full)}
	if ev.Type == zk.EventNotWatching || ev.Err != nil {
		out = cluster.Event{Kind: cluster.EventSessionLost, Path: s.rel(full), Err: mapErr(ev.Err)}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if isExists {
		pw.exists = nil
	} else {
		pw.children = nil
	}
	for sub := range pw.subs {
		sub <- out
		close(sub)
	}
	clear(pw.subs)
	if pw.exists == nil && pw.children == nil && s.watches[full] == pw {
		delete(s.watches, full)
	}
}
