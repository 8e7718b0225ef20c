package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/berthops/berth/cluster"
)

// Roles a replica reports in /v1/status.
const (
	RoleLeader   = "leader"
	RoleFollower = "follower"
)

// LeadFunc is a leader duty: it runs while this replica leads and must
// return when ctx ends, which happens as soon as leadership is lost. Every
// write it makes must carry lead.Fence() (cluster.State.Commit does).
type LeadFunc func(ctx context.Context, lead cluster.Leadership) error

// Config is what a server needs.
type Config struct {
	ID      string
	Version string
	Store   cluster.Store
	Logger  *slog.Logger
	// Heartbeat is how often the leader rewrites its fenced leader record
	// (1 s if zero).
	Heartbeat time.Duration
	// Lead are the leader duties beyond the heartbeat (the reconcile loop).
	Lead []LeadFunc
	// Standby run for as long as the replica serves, leading or not (the
	// reconciler's standby cache, which a Lead duty takes over).
	Standby []func(ctx context.Context)
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Advertise is the host:port other replicas and clients reach this
	// replica's API at; empty means the listener's address, which must then
	// not be a wildcard (0.0.0.0), or followers would forward to themselves.
	Advertise string
	// Warnings are shown in every /v1/status of this replica (berth up's
	// state restored from its backup).
	Warnings []string
	// Limits bound what clients can hold (timeouts, connections).
	Limits Limits
	// TLS, when set, makes the API HTTPS with it (certificates, and client
	// CAs for mutual TLS).
	TLS *tls.Config
}

// Server is one berth server replica.
type Server struct {
	cfg   Config
	state *cluster.State
	log   *slog.Logger
	mux   *http.ServeMux

	mu    sync.Mutex
	role  string
	term  int64
	since time.Time
}

// New returns a server; call Handle to add routes, then Serve.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{
		cfg:   cfg,
		state: cluster.NewState(cfg.Store),
		log:   cfg.Logger.With("server", cfg.ID),
		mux:   http.NewServeMux(),
		role:  RoleFollower,
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /v1/status", s.status)
	return s
}

// Handle adds a route to the API (Go 1.22 patterns: "GET /v1/apps/{id...}").
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler is the whole API, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// Serve announces the server, serves the API on ln and campaigns for
// leadership until ctx ends; it then resigns, so another replica takes over
// at once instead of after the session timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	addr, err := advertised(s.cfg.Advertise, ln.Addr())
	if err != nil {
		return fmt.Errorf("server %s: %w", s.cfg.ID, err)
	}
	reg, err := s.state.RegisterServer(ctx, cluster.ServerInfo{
		ID: s.cfg.ID, Address: addr, Version: s.cfg.Version, Started: s.cfg.Now(),
	})
	if err != nil {
		return fmt.Errorf("server %s: %w", s.cfg.ID, err)
	}
	defer reg.Close(context.WithoutCancel(ctx))
	lim := s.cfg.Limits.withDefaults()
	hs := &http.Server{Handler: s.mux, ReadHeaderTimeout: lim.ReadHeaderTimeout, ReadTimeout: lim.ReadTimeout,
		WriteTimeout: lim.WriteTimeout, IdleTimeout: lim.IdleTimeout, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	limited := newLimitListener(ln, lim.MaxConns, s.cfg.TLS == nil)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		if s.cfg.TLS != nil {
			hs.TLSConfig = s.cfg.TLS
			err = hs.ServeTLS(limited, "", "")
		} else {
			err = hs.Serve(limited)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve API on %s: %w", ln.Addr(), err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	})
	for _, f := range s.cfg.Standby {
		g.Go(func() error { f(gctx); return nil })
	}
	g.Go(func() error { return s.campaign(gctx) })
	return g.Wait()
}

// campaign loops: wait to lead, lead until leadership is lost, campaign again.
func (s *Server) campaign(ctx context.Context) error {
	for ctx.Err() == nil {
		lead, err := s.cfg.Store.Campaign(ctx, cluster.DirLeader, s.cfg.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, cluster.ErrClosed) {
				return fmt.Errorf("campaign: %w", err)
			}
			s.log.Warn("campaign failed; retrying", "err", err)
			if !sleep(ctx, time.Second) {
				return nil
			}
			continue
		}
		s.lead(ctx, lead)
	}
	return nil
}

// lead runs the leader duties until leadership is lost or ctx ends.
func (s *Server) lead(ctx context.Context, lead cluster.Leadership) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lead.Lost():
			cancel()
		case <-lctx.Done():
		}
	}()
	rec, _, err := s.state.LeaderRecord(lctx)
	if err != nil {
		s.log.Error("read leader record; giving up leadership", "err", err)
		_ = lead.Resign(context.WithoutCancel(ctx))
		sleep(ctx, time.Second)
		return
	}
	now := s.cfg.Now()
	rec = cluster.LeaderRecord{ID: s.cfg.ID, Term: rec.Term + 1, Since: now, Heartbeat: now}
	if err := s.writeRecord(lctx, lead, rec); err != nil {
		s.log.Error("take leadership: write leader record; giving up leadership", "err", err)
		_ = lead.Resign(context.WithoutCancel(ctx))
		return
	}
	s.setRole(RoleLeader, rec.Term, now)
	s.log.Info("elected leader", "term", rec.Term)
	defer s.setRole(RoleFollower, 0, time.Time{})

	g, gctx := errgroup.WithContext(lctx)
	g.Go(func() error { return s.heartbeat(gctx, lead, rec) })
	g.Go(func() error { s.watchAgents(gctx); return nil })
	for _, duty := range s.cfg.Lead {
		g.Go(func() error { return duty(gctx, lead) })
	}
	err = g.Wait()
	select {
	case <-lead.Lost():
		err = cluster.ErrFenced
	default:
	}
	if errors.Is(err, cluster.ErrFenced) {
		s.log.Warn("leadership lost; leader duties stopped", "term", rec.Term)
		return
	}
	if ctx.Err() != nil {
		s.log.Info("shutting down; resigning leadership", "term", rec.Term)
	} else {
		s.log.Error("leader duty failed; resigning leadership", "term", rec.Term, "err", err)
	}
	if err := lead.Resign(context.WithoutCancel(ctx)); err != nil {
		s.log.Warn("resign", "err", err)
	}
}

func (s *Server) writeRecord(ctx context.Context, lead cluster.Leadership, rec cluster.LeaderRecord) error {
	var b cluster.Batch
	b.SetLeaderRecord(rec)
	_, err := s.state.Commit(ctx, lead, &b)
	return err
}

// heartbeat keeps the leader record fresh; a fenced write failing means
// leadership is gone whatever the session events say yet.
func (s *Server) heartbeat(ctx context.Context, lead cluster.Leadership, rec cluster.LeaderRecord) error {
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		rec.Heartbeat = s.cfg.Now()
		err := s.writeRecord(ctx, lead, rec)
		switch {
		case err == nil:
		case errors.Is(err, cluster.ErrFenced):
			s.log.Warn("heartbeat refused: fenced, no longer the leader", "term", rec.Term, "err", err)
			return fmt.Errorf("heartbeat: %w", err)
		case ctx.Err() != nil:
			return nil
		default:
			// ZooKeeper unreachable or without quorum: no write can happen;
			// keep trying until the session says which way it went.
			s.log.Warn("heartbeat failed", "term", rec.Term, "err", err)
		}
	}
}

// watchAgents logs agents as their sessions come and go, so an operator
// sees a lost agent when the leader does.
func (s *Server) watchAgents(ctx context.Context) {
	reachable := map[string]bool{}
	first := true
	for ctx.Err() == nil {
		changed, err := s.state.WatchAgents(ctx)
		if err == nil {
			var agents []cluster.Agent
			agents, err = s.state.Agents(ctx)
			for _, a := range agents {
				was, known := reachable[a.ID]
				switch {
				case !a.Reachable && (was || (first && !known)):
					s.log.Warn("agent unreachable: its session expired", "agent", a.ID)
				case a.Reachable && !was:
					s.log.Info("agent reachable", "agent", a.ID)
				}
				reachable[a.ID] = a.Reachable
			}
			first = false
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("watch agents", "err", err)
			changed = nil
		}
		if changed == nil {
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

func (s *Server) setRole(role string, term int64, since time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.role, s.term, s.since = role, term, since
}

// Status is GET /v1/status.
type Status struct {
	ID            string    `json:"id"`
	Role          string    `json:"role"`
	Leader        string    `json:"leader"`
	LeaderAddress string    `json:"leaderAddress,omitempty"`
	Term          int64     `json:"term,omitempty"`
	LeaderSince   time.Time `json:"leaderSince,omitzero"`
	Agents        []Agent   `json:"agents"`
	// AgentCounts counts the agents; with ?agents=count it comes alone,
	// without Agents (two listings of the store instead of a read per
	// agent). Servers before it did not send it.
	AgentCounts *AgentCounts `json:"agentCounts,omitempty"`
	// Servers are the replicas registered in the cluster state.
	Servers  []cluster.ServerInfo `json:"servers,omitempty"`
	Error    string               `json:"error,omitempty"`
	Warnings []string             `json:"warnings,omitempty"`
}

// AgentCounts is how many agents are registered and reachable, and which
// are not reachable.
type AgentCounts struct {
	Registered  int      `json:"registered"`
	Reachable   int      `json:"reachable"`
	Unreachable []string `json:"unreachable"`
}

// Agent is an agent's line in Status.
type Agent struct {
	ID        string `json:"id"`
	Address   string `json:"address"`
	Reachable bool   `json:"reachable"`
}

// LeaderAddress returns the current leader's id and API address and whether
// this replica is the leader: the cheap lookup request forwarding needs
// (Status also lists every agent). An empty id means no leader is known.
func (s *Server) LeaderAddress(ctx context.Context) (id, address string, self bool, err error) {
	s.mu.Lock()
	self = s.role == RoleLeader
	s.mu.Unlock()
	id, err = s.state.Leader(ctx)
	if errors.Is(err, cluster.ErrNotFound) {
		return "", "", self, nil
	}
	if err != nil {
		return "", "", self, fmt.Errorf("find the leader: %w", err)
	}
	info, err := s.state.Server(ctx, id)
	if err != nil && !errors.Is(err, cluster.ErrNotFound) {
		return id, "", self, fmt.Errorf("find the leader's address: %w", err)
	}
	return id, info.Address, self, nil
}

// Status reads this replica's view: its role from memory, the leader and
// the agents from the store, so any replica answers the same.
func (s *Server) Status(ctx context.Context) Status { return s.readStatus(ctx, false) }

// readStatus is Status; countsOnly leaves out Agents and reads only the names
// of the agents and of the live ones.
func (s *Server) readStatus(ctx context.Context, countsOnly bool) Status {
	s.mu.Lock()
	st := Status{ID: s.cfg.ID, Role: s.role, Term: s.term, LeaderSince: s.since, Agents: []Agent{}, Warnings: s.cfg.Warnings}
	s.mu.Unlock()
	var errs []error
	leader, err := s.state.Leader(ctx)
	if err != nil && !errors.Is(err, cluster.ErrNotFound) {
		errs = append(errs, err)
	}
	st.Leader = leader
	if leader != "" {
		if info, err := s.state.Server(ctx, leader); err == nil {
			st.LeaderAddress = info.Address
		}
	}
	rec, _, err := s.state.LeaderRecord(ctx)
	if err != nil {
		errs = append(errs, err)
	} else if st.Term == 0 && rec.ID == leader {
		st.Term = rec.Term
	}
	if countsOnly {
		ids, live, err := s.state.AgentLiveness(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		st.Agents = nil
		st.AgentCounts = &AgentCounts{Registered: len(ids), Unreachable: []string{}}
		for _, id := range ids {
			if live[id] {
				st.AgentCounts.Reachable++
			} else {
				st.AgentCounts.Unreachable = append(st.AgentCounts.Unreachable, id)
			}
		}
	} else {
		agents, err := s.state.Agents(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		counts := AgentCounts{Registered: len(agents), Unreachable: []string{}}
		for _, a := range agents {
			st.Agents = append(st.Agents, Agent{ID: a.ID, Address: a.Address, Reachable: a.Reachable})
			if a.Reachable {
				counts.Reachable++
			} else {
				counts.Unreachable = append(counts.Unreachable, a.ID)
			}
		}
		st.AgentCounts = &counts
	}
	if st.Servers, err = s.state.Servers(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		st.Error = err.Error()
	}
	return st
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	st := s.readStatus(ctx, r.URL.Query().Get("agents") == "count")
	w.Header().Set("Content-Type", "application/json")
	if st.Error != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(st)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// advertised is the address this replica announces: the explicit one, or
// the listener's when that is a specific address.
func advertised(explicit string, ln net.Addr) (string, error) {
	if explicit != "" {
		if _, _, err := net.SplitHostPort(explicit); err != nil {
			return "", fmt.Errorf("advertise address %q: want host:port: %w", explicit, err)
		}
		return explicit, nil
	}
	host, _, err := net.SplitHostPort(ln.String())
	if err != nil {
		return "", fmt.Errorf("listener address %s: %w", ln, err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		return "", fmt.Errorf("listening on %s: give the address other replicas reach this one at (--advertise host:port)", ln)
	}
	return ln.String(), nil
}
