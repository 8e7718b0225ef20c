package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/manifests"
)

// TestPublishedTemplates checks the leader's publication and an agent's
// watch of it: the watch starts before anything is published, sees each
// change as a full set, and the origin survives the round trip.
func TestPublishedTemplates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tree := memstore.New()
	leader := cluster.NewState(tree.Client())
	lead, err := leader.Store().Campaign(ctx, "/election", "server-1")
	if err != nil {
		t.Fatal(err)
	}
	agentState := cluster.NewState(tree.Client())
	watch := agentState.WatchTemplates(ctx, func(err error) { t.Errorf("watch: %v", err) })
	next := func(what string) []cluster.PublishedTemplate {
		t.Helper()
		select {
		case set := <-watch:
			return set
		case <-ctx.Done():
			t.Fatalf("no template set %s", what)
			return nil
		}
	}
	if set := next("at start"); len(set) != 0 {
		t.Fatalf("first set %+v: want empty", set)
	}

	lb := manifests.Template{ID: "/edge/lb", Contents: "x", Destination: "/etc/nginx/lb.conf", Origin: manifests.Origin{File: "edge.yaml", Line: 4}}
	api := manifests.Template{ID: "api", Contents: "y", Destination: "/tmp/api"}
	var b cluster.Batch
	b.PutTemplate(cluster.PublishTemplate(lb))
	b.PutTemplate(cluster.PublishTemplate(api))
	if _, err := leader.Commit(ctx, lead, &b); err != nil {
		t.Fatal(err)
	}
	set := next("after publishing")
	if len(set) != 2 || set[0].Template.ID != "/edge/lb" || set[1].Template.ID != "api" {
		t.Fatalf("set %+v: want /edge/lb and api, sorted", set)
	}
	if got := set[0].Manifest(); got.Origin != lb.Origin || got.Contents != "x" {
		t.Fatalf("read back %+v: want origin %+v", got, lb.Origin)
	}

	// A changed template (same node, new data) fires the watch too.
	lb.Contents = "z"
	b = cluster.Batch{}
	b.PutTemplate(cluster.PublishTemplate(lb))
	b.DeleteTemplate("api")
	if _, err := leader.Commit(ctx, lead, &b); err != nil {
		t.Fatal(err)
	}
	for {
		set = next("after the change")
		if len(set) == 1 && set[0].Template.Contents == "z" {
			break
		}
	}
	list, err := leader.Templates(ctx)
	if err != nil || len(list) != 1 || list[0].Template.ID != "/edge/lb" {
		t.Fatalf("Templates() = %+v, %v: want /edge/lb", list, err)
	}
}
