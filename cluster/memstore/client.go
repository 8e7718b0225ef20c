package memstore

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"

	"github.com/berthops/berth/cluster"
)

// Client is one session on a Tree; it implements cluster.Store.
type Client struct {
	tree    *Tree
	session chan struct{} // closed when the current session ends; guarded by tree.mu
	closed  bool
	regs    map[string]*registration
}

var _ cluster.Store = (*Client)(nil)
var _ cluster.SessionStore = (*Client)(nil)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func (c *Client) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.closed {
		return cluster.ErrClosed
	}
	return nil
}

// Get implements cluster.Store.
func (c *Client) Get(ctx context.Context, p string) (cluster.Node, error) {
	c.tree.mu.Lock()
	defer c.tree.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return cluster.Node{}, err
	}
	n, ok := c.tree.nodes[p]
	if !ok {
		return cluster.Node{}, fmt.Errorf("get %s: %w", p, cluster.ErrNotFound)
	}
	return cluster.Node{Path: p, Data: append([]byte(nil), n.data...), Version: n.version}, nil
}

// Children implements cluster.Store.
func (c *Client) Children(ctx context.Context, p string) ([]string, error) {
	c.tree.mu.Lock()
	defer c.tree.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	n, ok := c.tree.nodes[p]
	if !ok {
		return nil, fmt.Errorf("children of %s: %w", p, cluster.ErrNotFound)
	}
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// Multi implements cluster.Store.
func (c *Client) Multi(ctx context.Context, ops ...cluster.Op) error {
	c.tree.mu.Lock()
	defer c.tree.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return err
	}
	fired, err := c.tree.apply(c, ops)
	if err != nil {
		return fmt.Errorf("multi: %w", err)
	}
	c.tree.fire(fired)
	if err := c.tree.save(); err != nil {
		return err
	}
	return nil
}

// Watch implements cluster.Store.
func (c *Client) Watch(ctx context.Context, p string) (<-chan cluster.Event, error) {
	c.tree.mu.Lock()
	defer c.tree.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	if err := validPath(p); err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	ch := make(chan cluster.Event, 1)
	c.tree.watchers[p] = append(c.tree.watchers[p], watcher{ch: ch, client: c})
	// A watch nobody waits for any more must not pile up on a node that
	// never changes.
	context.AfterFunc(ctx, func() { c.tree.unwatch(p, ch) })
	return ch, nil
}

// CreateEphemeralSequential implements cluster.SessionStore.
func (c *Client) CreateEphemeralSequential(ctx context.Context, prefix string, data []byte) (string, error) {
	c.tree.mu.Lock()
	defer c.tree.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return "", err
	}
	c.tree.seq++
	p := fmt.Sprintf("%s%010d", prefix, c.tree.seq)
	if err := c.createEphemeral(p, data); err != nil {
		return "", err
	}
	return p, nil
}

// createEphemeral is called with mu held.
func (c *Client) createEphemeral(p string, data []byte) error {
	if err := validPath(p); err != nil {
		return err
	}
	if _, ok := c.tree.nodes[p]; ok {
		return fmt.Errorf("create %s: %w", p, cluster.ErrExists)
	}
	made := c.tree.ensureParents(p, nil)
	c.tree.create(p, append([]byte(nil), data...), c, nil)
	fired := []string{p, path.Dir(p)}
	for _, m := range made {
		fired = append(fired, m, path.Dir(m))
	}
	c.tree.fire(fired)
	return c.tree.save()
}

// Session implements cluster.SessionStore.
func (c *Client) Session() <-chan struct{} {
	c.tree.mu.Lock()
	defer c.tree.mu.Unlock()
	return c.session
}

// Register implements cluster.Store.
func (c *Client) Register(ctx context.Context, p string, data []byte) (cluster.Registration, error) {
	c.tree.mu.Lock()
	defer c.tree.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	if err := c.createEphemeral(p, data); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	r := &registration{c: c, path: p, data: append([]byte(nil), data...)}
	c.regs[p] = r
	return r, nil
}

// Campaign implements cluster.Store.
func (c *Client) Campaign(ctx context.Context, dir, id string) (cluster.Leadership, error) {
	return cluster.Campaign(ctx, c, dir, id)
}

// Leader implements cluster.Store.
func (c *Client) Leader(ctx context.Context, dir string) (string, error) {
	return cluster.LeaderOf(ctx, c, dir)
}

// Close implements cluster.Store.
func (c *Client) Close() error {
	c.tree.mu.Lock()
	defer c.tree.mu.Unlock()
	if c.closed {
		return nil
	}
	c.endSession()
	c.closed = true
	c.regs = nil
	return nil
}

// Expire ends the client's session as ZooKeeper does when a client is not
// heard from for the session timeout: its ephemeral nodes are deleted, its
// watches fire with EventSessionLost and its leadership ends. A new session
// starts at once and the client's registrations are re-created in it, like
// zkstore does on reconnection.
func (c *Client) Expire() {
	c.tree.mu.Lock()
	defer c.tree.mu.Unlock()
	if c.closed {
		return
	}
	c.endSession()
	c.session = make(chan struct{})
	for p, r := range c.regs {
		if err := c.createEphemeral(p, r.data); err != nil {
			delete(c.regs, p)
		}
	}
}

// endSession is called with mu held.
func (c *Client) endSession() {
	var gone []string
	for p, n := range c.tree.nodes {
		if n.owner == c {
			gone = append(gone, p)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(gone)))
	var fired []string
	for _, p := range gone {
		c.tree.remove(p, nil)
		fired = append(fired, p, path.Dir(p))
	}
	for p, ws := range c.tree.watchers {
		kept := ws[:0]
		for _, w := range ws {
			if w.client == c {
				w.ch <- cluster.Event{Kind: cluster.EventSessionLost, Path: p, Err: cluster.ErrClosed}
				close(w.ch)
				continue
			}
			kept = append(kept, w)
		}
		if len(kept) == 0 {
			delete(c.tree.watchers, p)
		} else {
			c.tree.watchers[p] = kept
		}
	}
	c.tree.fire(fired)
	close(c.session)
	_ = c.tree.save() // ephemeral nodes are not saved; nothing persistent changed
}

type registration struct {
	c    *Client
	path string
	data []byte
}

func (r *registration) Path() string { return r.path }

func (r *registration) Close(ctx context.Context) error {
	r.c.tree.mu.Lock()
	defer r.c.tree.mu.Unlock()
	if r.c.regs[r.path] != r {
		return nil
	}
	delete(r.c.regs, r.path)
	if n, ok := r.c.tree.nodes[r.path]; ok && n.owner == r.c {
		r.c.tree.remove(r.path, nil)
		r.c.tree.fire([]string{r.path, path.Dir(r.path)})
	}
	return nil
}
