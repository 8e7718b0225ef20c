package zkstore

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/go-zookeeper/zk"

	"github.com/berthops/berth/cluster"
)

// Multi implements cluster.Store. Puts are resolved to creates or sets by
// asking for the nodes or listing their parents (reads, not transactions;
// see existing), and missing parents of
// creates are created inside the same transaction, so a batch of placements
// is exactly one ZooKeeper transaction.
func (s *Store) Multi(ctx context.Context, ops ...cluster.Op) error {
	if s.isClosed() {
		return cluster.ErrClosed
	}
	if len(ops) == 0 {
		return nil
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = s.multiOnce(ctx, ops)
		// A directory deleted since we cached it, or a put that raced with
		// another writer: look again and retry.
		if !errors.Is(err, errStaleView) {
			return err
		}
		s.forgetDirs()
	}
	return fmt.Errorf("multi: %w", err)
}

var errStaleView = errors.New("view of the tree changed during the transaction")

func (s *Store) multiOnce(ctx context.Context, ops []cluster.Op) error {
	exists, err := s.existing(ctx, ops)
	if err != nil {
		return err
	}
	var reqs []any
	var origin []int // index in ops of each request, -1 for an added parent
	created := map[string]bool{}
	for i, op := range ops {
		full := s.full(op.Path)
		kind := op.Kind
		if kind == cluster.OpPut {
			kind = cluster.OpSet
			if !exists[full] {
				kind = cluster.OpCreate
			}
		}
		switch kind {
		case cluster.OpCreate:
			for _, dir := range s.missingParents(full, exists, created) {
				reqs = append(reqs, &zk.CreateRequest{Path: dir, Acl: s.aclFor(dir)})
				origin = append(origin, -1)
				created[dir] = true
			}
			reqs = append(reqs, &zk.CreateRequest{Path: full, Data: op.Data, Acl: s.aclFor(full)})
			created[full] = true
		case cluster.OpSet:
			reqs = append(reqs, &zk.SetDataRequest{Path: full, Data: op.Data, Version: op.Version})
		case cluster.OpDelete:
			if op.IfExists() && !exists[full] && !created[full] {
				continue // nothing to delete: not a request at all
			}
			reqs = append(reqs, &zk.DeleteRequest{Path: full, Version: op.Version})
			delete(created, full)
		case cluster.OpCheck:
			reqs = append(reqs, &zk.CheckVersionRequest{Path: full, Version: op.Version})
		default:
			return fmt.Errorf("multi: op %d: unknown kind %d", i, op.Kind)
		}
		origin = append(origin, i)
	}
	if len(reqs) == 0 {
		return nil // only deletes of nodes that are not there
	}
	s.txns.Add(1)
	res, err := call(ctx, func() ([]zk.MultiResponse, error) { return s.conn.Multi(reqs...) })
	if err == nil {
		s.mu.Lock()
		for j, i := range origin {
			// Only the directories made for others' sake: leaves may go away.
			if i < 0 {
				s.knownDirs[reqs[j].(*zk.CreateRequest).Path] = true
			}
		}
		s.mu.Unlock()
		return nil
	}
	for j, r := range res {
		if r.Error == nil {
			continue
		}
		i := origin[j]
		if i < 0 {
			if errors.Is(r.Error, zk.ErrNodeExists) || errors.Is(r.Error, zk.ErrNoNode) {
				return errStaleView
			}
			return fmt.Errorf("multi: create parent %s: %w", s.rel(reqs[j].(*zk.CreateRequest).Path), mapErr(r.Error))
		}
		op := ops[i]
		if op.IsFence() && (errors.Is(r.Error, zk.ErrNoNode) || errors.Is(r.Error, zk.ErrBadVersion)) {
			return fmt.Errorf("multi: op %d (fence %s): %w", i, op.Path, cluster.ErrFenced)
		}
		if op.Kind == cluster.OpPut && (errors.Is(r.Error, zk.ErrNodeExists) || errors.Is(r.Error, zk.ErrNoNode)) {
			return errStaleView
		}
		if op.Kind == cluster.OpCreate && errors.Is(r.Error, zk.ErrNoNode) {
			return errStaleView
		}
		if op.IfExists() && errors.Is(r.Error, zk.ErrNoNode) {
			return errStaleView // deleted since it was listed: look again
		}
		return fmt.Errorf("multi: op %d (%s): %w", i, op.Path, mapErr(r.Error))
	}
	return fmt.Errorf("multi of %d ops: %w", len(ops), mapErr(err))
}

// probeMax is the most puts into one directory that are resolved by
// asking for each node instead of listing the directory. A single put (an
// agent registering under /agents, beside thousands of others) must not read
// a listing that grows with the cluster: at 5,000 agents that listing is
// 65 KB per registration, and over the 64 KiB buffer of the benchmark's
// agents' connections, which the client then closes.
const probeMax = 4

// existing finds which nodes touched by puts and creates exist, and which of
// their ancestors do: a few puts into a directory ask for each node (probe),
// more list the directory once. A directory found missing is not answered
// by listing its parent (as large as the cluster for /statuses/<agent>):
// its ancestors are asked for one by one up to one that exists.
func (s *Store) existing(ctx context.Context, ops []cluster.Op) (map[string]bool, error) {
	exists := map[string]bool{"/": true}
	listed := map[string]bool{}
	// up marks the nearest existing ancestor of a missing dir.
	up := func(dir string) error {
		for ; dir != "/" && dir != "." && !exists[dir]; dir = path.Dir(dir) {
			s.mu.Lock()
			known := s.knownDirs[dir]
			s.mu.Unlock()
			ok := known
			if !known {
				var err error
				if ok, err = s.exists(ctx, dir); err != nil {
					return err
				}
			}
			if ok {
				exists[dir] = true
				return nil
			}
		}
		return nil
	}
	probe := func(full string) error {
		ok, err := s.exists(ctx, full)
		if err != nil {
			return err
		}
		if ok {
			exists[full] = true
			exists[path.Dir(full)] = true
			return nil
		}
		return up(path.Dir(full))
	}
	puts := map[string]int{}
	for _, op := range ops {
		if op.Kind == cluster.OpPut {
			puts[path.Dir(s.full(op.Path))]++
		}
	}
	list := func(dir string) error {
		if listed[dir] || dir == "/" {
			return nil
		}
		listed[dir] = true
		s.mu.Lock()
		known := s.knownDirs[dir]
		s.mu.Unlock()
		s.reads.Add(1)
		names, err := call(ctx, func() ([]string, error) {
			n, _, err := s.conn.Children(dir)
			return n, err
		})
		if errors.Is(err, zk.ErrNoNode) {
			if known {
				s.forgetDirs()
			}
			return up(path.Dir(dir))
		}
		if err != nil {
			return fmt.Errorf("multi: list %s: %w", s.rel(dir), mapErr(err))
		}
		exists[dir] = true
		for _, n := range names {
			exists[path.Join(dir, n)] = true
		}
		return nil
	}
	for _, op := range ops {
		if op.IfExists() {
			// Whether there is anything to delete is read, not cached.
			if err := list(path.Dir(s.full(op.Path))); err != nil {
				return nil, err
			}
			continue
		}
		if op.Kind != cluster.OpPut && op.Kind != cluster.OpCreate {
			continue
		}
		dir := path.Dir(s.full(op.Path))
		s.mu.Lock()
		known := s.knownDirs[dir]
		s.mu.Unlock()
		if op.Kind == cluster.OpCreate {
			if known {
				continue // the server checks the node itself; its parent is there
			}
			// Only whether the parent exists matters: ask, don't list.
			if err := up(dir); err != nil {
				return nil, err
			}
			continue
		}
		if op.Kind == cluster.OpPut && puts[dir] <= probeMax && !listed[dir] {
			if err := probe(s.full(op.Path)); err != nil {
				return nil, err
			}
			continue
		}
		if err := list(dir); err != nil {
			return nil, err
		}
	}
	return exists, nil
}

// exists asks whether one node exists (a read, not a transaction).
func (s *Store) exists(ctx context.Context, full string) (bool, error) {
	s.reads.Add(1)
	ok, err := call(ctx, func() (bool, error) {
		ok, _, err := s.conn.Exists(full)
		return ok, err
	})
	if err != nil {
		return false, fmt.Errorf("multi: look up %s: %w", s.rel(full), mapErr(err))
	}
	return ok, nil
}

// missingParents lists, root first, the ancestors of full that neither
// exist nor are created earlier in the same transaction.
func (s *Store) missingParents(full string, exists, created map[string]bool) []string {
	var missing []string
	for dir := path.Dir(full); dir != "/" && dir != "."; dir = path.Dir(dir) {
		s.mu.Lock()
		known := s.knownDirs[dir]
		s.mu.Unlock()
		if exists[dir] || created[dir] || known {
			break
		}
		missing = append([]string{dir}, missing...)
	}
	return missing
}
