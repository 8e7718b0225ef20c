package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// RegisterServer announces a berth server for as long as its session lives.
//
// A server restarted right after a crash finds its previous announcement
// still there until the old session expires (the session timeout): it waits
// for it to go (registerLive) instead of exiting. Exiting there left a
// cluster whose servers were all restarted within their session timeouts
// with no server at all (the soak of 06:00, 23 minutes without a leader).
func (st *State) RegisterServer(ctx context.Context, s ServerInfo) (Registration, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("register server %s: %w", s.ID, err)
	}
	reg, err := st.registerLive(ctx, serverPath(s.ID), data)
	if err != nil {
		return nil, fmt.Errorf("register server %s: %w", s.ID, err)
	}
	return reg, nil
}

// registerLive creates the ephemeral node p, waiting up to registerWait for
// a node a previous run left there to go with its session. A second live
// process with the same id keeps its node, and the wait ends with
// ErrExists.
func (st *State) registerLive(ctx context.Context, p string, data []byte) (Registration, error) {
	ctx, cancel := context.WithTimeout(ctx, registerWait)
	defer cancel()
	for {
		reg, err := st.store.Register(ctx, p, data)
		if err == nil {
			return reg, nil
		}
		if !errors.Is(err, ErrExists) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the node of a previous run (or of another process with this id) did not go within %s: %w", registerWait, err)
		case <-time.After(registerRetry):
		}
	}
}

// registerWait bounds how long a server waits for its previous session's
// announcement to expire: ZooKeeper's largest session timeout by default
// (20 ticks of 2 s) and then some.
const registerWait = time.Minute

// registerRetry is how often the announcement is tried again meanwhile.
const registerRetry = 250 * time.Millisecond

// Server reads one live server's announcement.
func (st *State) Server(ctx context.Context, id string) (ServerInfo, error) {
	var s ServerInfo
	_, err := getJSON(ctx, st.store, serverPath(id), &s)
	return s, err
}

// Servers lists the live servers.
func (st *State) Servers(ctx context.Context) ([]ServerInfo, error) {
	list, err := listJSON[ServerInfo](ctx, st.store, dirServers)
	if err != nil {
		return nil, err
	}
	out := make([]ServerInfo, len(list))
	for i, v := range list {
		out[i] = v.Value
	}
	return out, nil
}

// LeaderRecord reads what the leader last wrote about itself, with its
// version; the zero record and version -1 when no leader ever wrote one.
func (st *State) LeaderRecord(ctx context.Context) (LeaderRecord, int32, error) {
	var r LeaderRecord
	v, err := getJSON(ctx, st.store, nodeLeaderInfo, &r)
	if errors.Is(err, ErrNotFound) {
		return LeaderRecord{}, -1, nil
	}
	return r, v, err
}

// Leader returns the id of the current leading server, ErrNotFound if none.
func (st *State) Leader(ctx context.Context) (string, error) {
	return st.store.Leader(ctx, DirLeader)
}

// EnsureLayout creates the top-level directories of the tree. Servers call
// it at start: under per-agent ZooKeeper identities agents may create their
// own nodes in these directories but not the directories themselves.
func (st *State) EnsureLayout(ctx context.Context) error {
	for _, dir := range TopDirs() {
		if err := ensure(ctx, st.store, dir); err != nil {
			return fmt.Errorf("create the tree: %w", err)
		}
	}
	return nil
}
