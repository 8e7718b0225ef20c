package zkstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/berthops/berth/cluster"
)

// DefaultSessionTimeout bounds how long a dead or paused leader or agent
// keeps its session: a new leader takes over, and a lost agent is marked
// unreachable, about this long after it went silent.
const DefaultSessionTimeout = 6 * time.Second

// Options tune a Store.
type Options struct {
	// SessionTimeout bounds how long a silent client keeps its session (and
	// its ephemeral nodes and leadership): DefaultSessionTimeout if zero.
	SessionTimeout time.Duration
	Logger         *slog.Logger
	// Identities, when set, replace the one shared identity with one per
	// agent and ACLs per path (see Identities); the Config's user is then
	// this process's own identity.
	Identities *Identities
	// Dial, when set, opens the connections to the ensemble instead of
	// net.DialTimeout: the cluster benchmark cuts a leader off with it as a
	// kill -9 would, without closing its session.
	Dial func(network, address string, timeout time.Duration) (net.Conn, error)
	// BufferSize, when set, bounds the client's send and receive buffers
	// (bytes each; the client's default is 1.5 MiB). A process holding
	// thousands of sessions (the benchmark's simulated agents) sets it
	// lower; it must still hold the largest request and answer.
	BufferSize int
}

// Store is a cluster.Store over one ZooKeeper session (renewed after
// expiry).
type Store struct {
	conn   *zk.Conn
	cfg    Config
	acl    []zk.ACL
	ids    *Identities
	logger *slog.Logger

	mu        sync.Mutex
	session   chan struct{} // closed when the current session ends
	expired   bool          // a session ended and the next one is not set up yet
	closed    bool
	regs      map[string]*registration
	knownDirs map[string]bool // directories known to exist, to skip re-checking them

	wmu     sync.Mutex
	watches map[string]*pathWatch // by full path

	wake    chan struct{} // signals the session loop that a new session started
	timeout time.Duration // the session timeout asked for
	cutOff  *time.Timer   // running while disconnected: ends the session after timeout

	stop chan struct{}
	wg   sync.WaitGroup

	txns  atomic.Int64
	reads atomic.Int64
}

var (
	_ cluster.Store        = (*Store)(nil)
	_ cluster.SessionStore = (*Store)(nil)
)

// Open connects to the ensemble, waits for a session (or ctx), authenticates
// and makes sure the chroot exists.
func Open(ctx context.Context, cfg Config, opts Options) (*Store, error) {
	if opts.SessionTimeout == 0 {
		opts.SessionTimeout = DefaultSessionTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		cfg:       cfg,
		logger:    opts.Logger.With("zk", cfg.String()),
		session:   make(chan struct{}),
		regs:      map[string]*registration{},
		knownDirs: map[string]bool{},
		watches:   map[string]*pathWatch{},
		wake:      make(chan struct{}, 1),
		timeout:   opts.SessionTimeout,
		stop:      make(chan struct{}),
	}
	s.acl = zk.WorldACL(zk.PermAll)
	if opts.Identities != nil {
		if cfg.User == "" {
			return nil, fmt.Errorf("connect to %s: ZooKeeper identities need the process's own user:password in the connection string", cfg)
		}
		s.ids = opts.Identities
	}
	if cfg.User != "" {
		// Only Berth's credentials change its tree; anyone may read it.
		s.acl = append(zk.DigestACL(zk.PermAll, cfg.User, cfg.Password), zk.WorldACL(zk.PermRead)...)
	}
	connected := make(chan struct{}, 1)
	// The client's option type is unexported: unset options are no-ops.
	dial, sendBuf, recvBuf := func(*zk.Conn) {}, func(*zk.Conn) {}, func(*zk.Conn) {}
	if opts.Dial != nil {
		dial = zk.WithDialer(opts.Dial)
	}
	if opts.BufferSize > 0 {
		sendBuf, recvBuf = zk.WithMaxConnBufferSize(opts.BufferSize), zk.WithMaxBufferSize(opts.BufferSize)
	}
	conn, _, err := zk.Connect(cfg.Servers, opts.SessionTimeout,
		zk.WithLogInfo(false),
		zk.WithLogger(zkLogger{s.logger}),
		zk.WithEventCallback(func(ev zk.Event) { s.onEvent(ev, connected) }),
		dial, sendBuf, recvBuf)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg, err)
	}
	s.conn = conn
	select {
	case <-connected:
	case <-ctx.Done():
		conn.Close()
		return nil, fmt.Errorf("connect to %s: no session: %w", cfg, ctx.Err())
	}
	if cfg.User != "" {
		if err := conn.AddAuth("digest", []byte(cfg.User+":"+cfg.Password)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("connect to %s: authenticate: %w", cfg, err)
		}
	}
	if s.ids != nil {
		for _, c := range s.ids.Auth {
			if err := conn.AddAuth("digest", []byte(c.User+":"+c.Password)); err != nil {
				conn.Close()
				return nil, fmt.Errorf("connect to %s: authenticate as %s: %w", cfg, c.User, err)
			}
		}
	}
	if cfg.Chroot != "" {
		if err := s.ensureDir(ctx, cfg.Chroot); err != nil {
			conn.Close()
			return nil, fmt.Errorf("connect to %s: create %s: %w", cfg, cfg.Chroot, err)
		}
	}
	s.wg.Add(1)
	go s.sessionLoop()
	return s, nil
}

// onEvent runs inside the client's event loop, so it must not block or
// call the connection.
func (s *Store) onEvent(ev zk.Event, connected chan struct{}) {
	if ev.Type != zk.EventSession {
		s.onWatchEvent(ev)
		return
	}
	switch ev.State {
	case zk.StateHasSession:
		select {
		case connected <- struct{}{}:
		default:
		}
		s.mu.Lock()
		renewed := s.expired
		s.expired = false
		if s.cutOff != nil {
			s.cutOff.Stop()
			s.cutOff = nil
		}
		s.mu.Unlock()
		if renewed {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	case zk.StateExpired:
		s.logger.Warn("zookeeper session expired: ephemeral nodes and leadership are gone")
		s.endSession()
	case zk.StateDisconnected:
		s.logger.Info("disconnected from zookeeper; reconnecting")
		s.mu.Lock()
		if s.cutOff == nil && !s.closed {
			// Cut off for a whole session timeout, the session is gone as far
			// as the ensemble is concerned (another server may lead by now),
			// even though the client only hears of it when it reconnects.
			// Ending it here stops a cut-off leader's duties and its claim to
			// lead in /v1/status; its writes were refused anyway.
			s.cutOff = time.AfterFunc(s.timeout, func() {
				s.logger.Warn("cut off from zookeeper for the session timeout: session given up for lost")
				s.endSession()
			})
		}
		s.mu.Unlock()
	}
}

func (s *Store) endSession() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.expired {
		return
	}
	s.expired = true
	close(s.session)
	s.session = make(chan struct{})
}

// sessionLoop re-creates registrations once a new session replaced an
// expired one, so an agent that was cut off becomes live again by itself.
func (s *Store) sessionLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		regs := make([]*registration, 0, len(s.regs))
		for _, r := range s.regs {
			regs = append(regs, r)
		}
		s.mu.Unlock()
		for _, r := range regs {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := s.createEphemeral(ctx, r.path, r.data)
			cancel()
			if err != nil && !errors.Is(err, cluster.ErrExists) {
				s.logger.Error("re-register after session expiry", "path", r.path, "err", err)
				continue
			}
			s.logger.Info("re-registered after session expiry", "path", r.path)
		}
	}
}

// Stats counts what the store asked of ZooKeeper.
type Stats struct {
	// Transactions are writes (each multi counts once): what the ensemble
	// must agree on.
	Transactions int64
	Reads        int64
}

// Stats returns the counts since Open.
func (s *Store) Stats() Stats {
	return Stats{Transactions: s.txns.Load(), Reads: s.reads.Load()}
}

func (s *Store) full(p string) string {
	if p == "/" {
		if s.cfg.Chroot == "" {
			return "/"
		}
		return s.cfg.Chroot
	}
	return s.cfg.Chroot + p
}

// aclFor is the ACL a node created at full path p gets.
func (s *Store) aclFor(p string) []zk.ACL {
	if s.ids == nil {
		return s.acl
	}
	return s.ids.aclFor(s.rel(p))
}

func (s *Store) rel(p string) string {
	r := strings.TrimPrefix(p, s.cfg.Chroot)
	if r == "" {
		return "/"
	}
	return r
}

// call runs f but returns when ctx ends; the ZooKeeper client's requests
// take no context and end only with a reply or the connection.
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	if ctx.Done() == nil {
		return f()
	}
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// mapErr turns the client's errors into the store's.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zk.ErrNoNode):
		return fmt.Errorf("%w (%v)", cluster.ErrNotFound, err)
	case errors.Is(err, zk.ErrNodeExists):
		return fmt.Errorf("%w (%v)", cluster.ErrExists, err)
	case errors.Is(err, zk.ErrBadVersion):
		return fmt.Errorf("%w (%v)", cluster.ErrVersion, err)
	case errors.Is(err, zk.ErrNotEmpty):
		return fmt.Errorf("%w (%v)", cluster.ErrNotEmpty, err)
	case errors.Is(err, zk.ErrClosing):
		return fmt.Errorf("%w (%v)", cluster.ErrClosed, err)
	}
	return err
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Get implements cluster.Store.
func (s *Store) Get(ctx context.Context, p string) (cluster.Node, error) {
	if s.isClosed() {
		return cluster.Node{}, cluster.ErrClosed
	}
	s.reads.Add(1)
	type got struct {
		data []byte
		stat *zk.Stat
	}
	g, err := call(ctx, func() (got, error) {
		d, st, err := s.conn.Get(s.full(p))
		return got{d, st}, err
	})
	if err != nil {
		return cluster.Node{}, fmt.Errorf("get %s: %w", p, mapErr(err))
	}
	return cluster.Node{Path: p, Data: g.data, Version: g.stat.Version}, nil
}

// Children implements cluster.Store.
func (s *Store) Children(ctx context.Context, p string) ([]string, error) {
	if s.isClosed() {
		return nil, cluster.ErrClosed
	}
	s.reads.Add(1)
	names, err := call(ctx, func() ([]string, error) {
		n, _, err := s.conn.Children(s.full(p))
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("children of %s: %w", p, mapErr(err))
	}
	sort.Strings(names)
	return names, nil
}

// ensureDir creates full path dir and its ancestors (absolute, chroot
// included) unless they exist.
func (s *Store) ensureDir(ctx context.Context, dir string) error {
	if dir == "/" {
		return nil
	}
	s.mu.Lock()
	known := s.knownDirs[dir]
	s.mu.Unlock()
	if known {
		return nil
	}
	if err := s.ensureDir(ctx, path.Dir(dir)); err != nil {
		return err
	}
	s.txns.Add(1)
	_, err := call(ctx, func() (string, error) { return s.conn.Create(dir, nil, 0, s.aclFor(dir)) })
	if errors.Is(err, zk.ErrNoAuth) {
		// Not ours to create (an agent under a server's directory): fine
		// if it exists already.
		var ok bool
		if ok, _, err = s.conn.Exists(dir); err == nil && !ok {
			err = zk.ErrNoAuth
		}
	}
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("create %s: %w", s.rel(dir), mapErr(err))
	}
	s.mu.Lock()
	s.knownDirs[dir] = true
	s.mu.Unlock()
	return nil
}

func (s *Store) forgetDirs() {
	s.mu.Lock()
	s.knownDirs = map[string]bool{}
	s.mu.Unlock()
}

// CreateEphemeralSequential implements cluster.SessionStore.
func (s *Store) CreateEphemeralSequential(ctx context.Context, prefix string, data []byte) (string, error) {
	if s.isClosed() {
		return "", cluster.ErrClosed
	}
	if err := s.ensureDir(ctx, path.Dir(s.full(prefix))); err != nil {
		return "", err
	}
	s.txns.Add(1)
	// The protected form finds its node again if the connection drops
	// between the create and its reply, so no orphan candidate is left.
	p, err := call(ctx, func() (string, error) {
		return s.conn.CreateProtectedEphemeralSequential(s.full(prefix), data, s.aclFor(s.full(prefix)))
	})
	if err != nil {
		return "", fmt.Errorf("create %s*: %w", prefix, mapErr(err))
	}
	return s.rel(p), nil
}

// Session implements cluster.SessionStore.
func (s *Store) Session() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.session
}

func (s *Store) createEphemeral(ctx context.Context, p string, data []byte) error {
	full := s.full(p)
	if err := s.ensureDir(ctx, path.Dir(full)); err != nil {
		return err
	}
	s.txns.Add(1)
	_, err := call(ctx, func() (string, error) { return s.conn.Create(full, data, zk.FlagEphemeral, s.aclFor(full)) })
	if err != nil {
		return fmt.Errorf("create %s: %w", p, mapErr(err))
	}
	return nil
}

// Register implements cluster.Store.
func (s *Store) Register(ctx context.Context, p string, data []byte) (cluster.Registration, error) {
	if s.isClosed() {
		return nil, cluster.ErrClosed
	}
	if err := s.createEphemeral(ctx, p, data); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	r := &registration{s: s, path: p, data: append([]byte(nil), data...)}
	s.mu.Lock()
	s.regs[p] = r
	s.mu.Unlock()
	return r, nil
}

// Campaign implements cluster.Store.
func (s *Store) Campaign(ctx context.Context, dir, id string) (cluster.Leadership, error) {
	return cluster.Campaign(ctx, s, dir, id)
}

// Leader implements cluster.Store.
func (s *Store) Leader(ctx context.Context, dir string) (string, error) {
	return cluster.LeaderOf(ctx, s, dir)
}

// Close implements cluster.Store: the session ends at once, so the ensemble
// deletes its ephemeral nodes without waiting for the session timeout.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.cutOff != nil {
		s.cutOff.Stop()
		s.cutOff = nil
	}
	close(s.stop)
	close(s.session)
	s.mu.Unlock()
	s.conn.Close()
	s.wg.Wait()
	return nil
}

type registration struct {
	s    *Store
	path string
	data []byte
}

func (r *registration) Path() string { return r.path }

func (r *registration) Close(ctx context.Context) error {
	r.s.mu.Lock()
	if r.s.regs[r.path] != r {
		r.s.mu.Unlock()
		return nil
	}
	delete(r.s.regs, r.path)
	r.s.mu.Unlock()
	r.s.txns.Add(1)
	_, err := call(ctx, func() (struct{}, error) { return struct{}{}, r.s.conn.Delete(r.s.full(r.path), -1) })
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("unregister %s: %w", r.path, mapErr(err))
	}
	return nil
}

// zkLogger sends the client's own messages to slog at debug level: they
// are reconnection chatter an operator rarely needs.
type zkLogger struct{ l *slog.Logger }

func (z zkLogger) Printf(format string, args ...any) {
	z.l.Debug(fmt.Sprintf(format, args...), "component", "zk-client")
}
