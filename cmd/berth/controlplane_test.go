package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/testenv"
)

// TestFollowerForwardsToTheLeader runs two replicas on one store: what only
// the leader knows (the reconciler's status) is answered by either.
func TestFollowerForwardsToTheLeader(t *testing.T) {
	repo := testenv.NewGitRepo(t, t.TempDir())
	commit := repo.Commit(t, "main", map[string]string{"apps/web.yaml": "kind: App\nid: /web\ninstances: 0\ncmd: sleep 1\n"}, "web")
	tree := memstore.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	var urls []string
	for _, id := range []string{"s1", "s2"} {
		store := tree.Client()
		cp, err := newControlPlane(ctx, logger, store, controlFlags{repo: repo.FileURL(), branch: "main", cacheDir: t.TempDir(),
			poll: time.Hour, resync: 50 * time.Millisecond, prune: true})
		if err != nil {
			t.Fatal(err)
		}
		srv := server.New(server.Config{ID: id, Store: store, Logger: logger, Lead: []server.LeadFunc{cp.rec.Run}})
		cp.mount(srv, nil)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ctx, ln) }()
		urls = append(urls, "http://"+ln.Addr().String())
		if id == "s1" {
			// Let s1 win the election before s2 campaigns.
			waitStatus(t, urls[0], func(st reconciler.Status) bool { return st.Desired == commit })
		}
	}
	// s2 follows; its own reconciler never ran, yet it answers with the leader's view.
	waitStatus(t, urls[1], func(st reconciler.Status) bool { return st.Desired == commit })
}

func waitStatus(t *testing.T, url string, ok func(reconciler.Status) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/v1/sync")
		if err == nil {
			var st reconciler.Status
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && ok(st) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s/v1/sync never showed the expected status", url)
}
