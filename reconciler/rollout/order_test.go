package rollout

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestWaiting(t *testing.T) {
	deployed := map[string]bool{"/db": false, "/cache": true, "/queue": false}
	got := Waiting([]string{"/queue", "/db", "/cache", "/unknown", "/db"}, deployed)
	if diff := cmp.Diff([]string{"/db", "/queue"}, got); diff != "" {
		t.Errorf("Waiting mismatch (-want +got):\n%s", diff)
	}
	if got := Waiting(nil, deployed); got != nil {
		t.Errorf("Waiting(nil) = %v", got)
	}
}

func TestGate(t *testing.T) {
	d := Decision{Start: 2, Kill: append(kills(ReasonUpgrade, "a"), append(kills(ReasonUnhealthy, "b"),
		append(kills(ReasonScaleDown, "c"), kills(ReasonUnreachable, "d")...)...)...),
		Forget: []string{"e"}, Done: true}
	out := OutOfSync

	held, st := Gate(d, Status{Sync: out, Health: Degraded, Message: "0/2 healthy"}, []string{"/db"})
	want := Decision{Kill: append(kills(ReasonUnhealthy, "b"), kills(ReasonUnreachable, "d")...), Forget: []string{"e"}, Held: true}
	if diff := cmp.Diff(want, held, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("held decision mismatch (-want +got):\n%s", diff)
	}
	if st.Health != Progressing || st.Message != "0/2 healthy, waiting for /db" {
		t.Errorf("held status = %+v", st)
	}
	if len(d.Kill) != 4 {
		t.Errorf("Hold changed its argument's kills: %v", d.Kill)
	}

	// In sync (healing) or nothing to wait for: untouched.
	for _, c := range []struct {
		sync    Sync
		waiting []string
	}{{Synced, []string{"/db"}}, {OutOfSync, nil}} {
		got, _ := Gate(d, Status{Sync: c.sync}, c.waiting)
		if diff := cmp.Diff(d, got); diff != "" {
			t.Errorf("Gate(%s, %v) changed the decision:\n%s", c.sync, c.waiting, diff)
		}
	}
}

// TestDependencyOrderSimulated restarts a database and a web app that
// depends on it in the same commit: no web task of the new version may
// start before the database has finished, and both converge.
func TestDependencyOrderSimulated(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			db := newSim(t, strategy(spec("v2", 3), 1, 0), seed, 0.2)
			web := newSim(t, strategy(spec("w2", 4), 0.5, 0.5), seed+100, 0.2)
			for _, s := range []*sim{db, web} {
				s.spec.Backoff = Backoff{Initial: time.Second, Factor: 2, Max: 4 * time.Second}
			}
			db.seed("v1", 3)
			web.seed("w1", 4)
			dbDeployed, dbDeployedAt, webStartedAt := false, -1, -1
			web.gate = func(in Input, d Decision) Decision {
				d, _ = Gate(d, AppStatus(in), Waiting([]string{"/db"}, map[string]bool{"/db": dbDeployed}))
				return d
			}
			for tick := range 2000 {
				_, dd := db.step(tick)
				if dd.Deployed() && dbDeployedAt < 0 {
					dbDeployedAt = tick
				}
				dbDeployed = dd.Deployed()
				_, wd := web.step(tick)
				if wd.Start > 0 && webStartedAt < 0 {
					webStartedAt = tick
				}
				if db.done && web.done {
					break
				}
			}
			if !db.done || !web.done {
				t.Fatalf("no convergence:\ndb\n%s\nweb\n%s", db.trace.String(), web.trace.String())
			}
			if webStartedAt < dbDeployedAt {
				t.Fatalf("web started a new task at tick %d, db deployed only at %d:\ndb\n%s\nweb\n%s",
					webStartedAt, dbDeployedAt, db.trace.String(), web.trace.String())
			}
			if !slices.ContainsFunc(web.tasks, func(st *simTask) bool { return st.Version == "w2" }) {
				t.Fatal("web never rolled out")
			}
		})
	}
}
