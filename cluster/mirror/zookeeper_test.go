package mirror_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/berthops/berth/cluster/zkstore"
	"github.com/berthops/berth/testenv"
)

// The session timeout of the mirror's client: short, so expiries are quick.
const testSession = 2 * time.Second

func openZK(t *testing.T, addr, chroot string) *zkstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := zkstore.Open(ctx, zkstore.Config{Servers: []string{addr}, Chroot: chroot},
		zkstore.Options{SessionTimeout: testSession})
	if err != nil {
		t.Fatalf("open zkstore: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The mirror equals a fresh read of a real ZooKeeper after random writes by
// agents and the leader, connection losses the client survives, and
// expiries of the mirror's session (its watches lost).
func TestMirrorEqualsZooKeeper(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	for seed := range uint64(2) {
		chroot := fmt.Sprintf("/mirror-%d", seed)
		agents := openZK(t, zk.Addrs()[0], chroot)
		px := zk.Proxy(t, 0)
		leader := openZK(t, px.Addr(), chroot)
		n := 0
		expire := func() {
			n++
			t.Logf("cut-off %d (expiry: %v)", n, n%2 == 0)
			if n%2 == 1 {
				// Cut off for less than the session: the client reconnects
				// in the same session and its watches carry over.
				px.Block()
				time.Sleep(testSession / 4)
				px.Unblock()
				return
			}
			sess := leader.Session()
			px.Block()
			time.Sleep(testSession + 3*testenv.TickTime)
			px.Unblock()
			select {
			case <-sess:
			case <-time.After(4 * testSession):
				t.Fatalf("the leader's client did not learn its session expired")
			}
		}
		runScenario(t, seed, 6, 25, agents, leader, expire)
	}
}
