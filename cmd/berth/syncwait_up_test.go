package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/testenv"
)

const truthApp = `kind: App
id: %s
instances: %d
cpus: %s
mem: 16
container:
  type: DOCKER
  docker:
    image: %s
%s`

func truth(id string, n int, image string, extra string) string {
	return fmt.Sprintf(truthApp, id, n, "0.1", image, extra)
}

// berth sync --wait on berth up tells the truth (issue 22): it exits 0 only
// when the cluster runs the head it asked for, and 1 with the reason when
// that head is rejected, one of its apps is Degraded or cannot be placed;
// it never judges a head by the previous commit's statuses.
func TestSyncWaitTellsTheTruthOnUp(t *testing.T) {
	testenv.Integration(t)
	repo := testenv.NewGitRepo(t, t.TempDir())
	a := repo.Commit(t, "main", map[string]string{"apps/c.yaml": truth("/c", 1, testenv.WebImage, "")}, "A: /c x1")
	up := newUpEnv(t, repo.FileURL(), "31700-31800", time.Hour)
	defer up.start()()
	api := "http://" + up.fl.listen
	tokenFile := filepath.Join(up.fl.dataDir, "token")
	syncWait := func(timeout string) (string, *exitError) {
		t.Helper()
		var out, errb bytes.Buffer
		root := newRootCmd(&out, &errb)
		root.SetArgs([]string{"sync", "--wait", "--timeout", timeout, "--server", api, "--token-file", tokenFile})
		rctx, rcancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer rcancel()
		err := root.ExecuteContext(rctx)
		var ee *exitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("berth sync --wait: %v (%s)", err, errb.String())
		}
		return out.String(), ee
	}
	waitAPI(t, api)

	out, ee := syncWait("2m")
	if ee != nil || !strings.Contains(out, "synced: the cluster runs commit "+a[:12]) {
		t.Fatalf("commit A: %v %q", ee, out)
	}

	// B scales /c and adds two apps with one fixed service port: the commit
	// is refused whole, and sync --wait says so instead of "synced".
	clash := "portDefinitions:\n  - port: 33180\n"
	b := repo.Commit(t, "main", map[string]string{
		"apps/c.yaml": truth("/c", 2, testenv.WebImage, ""),
		"apps/a.yaml": truth("/a", 1, testenv.WebImage, clash),
		"apps/b.yaml": truth("/b", 1, testenv.WebImage, clash),
	}, "B: clash")
	_, ee = syncWait("2m")
	if ee == nil || ee.code != exitSyncFailed || !strings.Contains(ee.msg, "commit "+b[:12]+" is rejected") ||
		!strings.Contains(ee.msg, "service port 33180 is also declared by app /a at apps/a.yaml") {
		t.Fatalf("commit B (a service port clash): %+v", ee)
	}

	// C: an image that does not exist.
	repo.Commit(t, "main", map[string]string{"apps/c.yaml": truth("/c", 1, testenv.WebImage, ""),
		"apps/noimg.yaml": truth("/noimg", 1, "berth/does-not-exist:never", "backoffSeconds: 60\n")}, "C: no such image")
	_, ee = syncWait("2m")
	if ee == nil || ee.code != exitSyncFailed || !strings.Contains(ee.msg, "app /noimg is Degraded") {
		t.Fatalf("commit C (an image that does not exist): %+v", ee)
	}

	// D removes the Degraded app and adds another: judged on D, not on C.
	d := repo.Commit(t, "main", map[string]string{"apps/c.yaml": truth("/c", 1, testenv.WebImage, ""),
		"apps/d.yaml": truth("/d", 1, testenv.WebImage, "")}, "D: /noimg gone, /d added")
	out, ee = syncWait("2m")
	if ee != nil || !strings.Contains(out, "synced: the cluster runs commit "+d[:12]) {
		t.Fatalf("commit D after a Degraded app: %+v %q", ee, out)
	}

	// E: an app no agent can hold.
	repo.Commit(t, "main", map[string]string{"apps/c.yaml": truth("/c", 1, testenv.WebImage, ""),
		"apps/d.yaml":   truth("/d", 1, testenv.WebImage, ""),
		"apps/big.yaml": fmt.Sprintf(truthApp, "/big", 1, "64", testenv.WebImage, "")}, "E: too big")
	_, ee = syncWait("2m")
	if ee == nil || ee.code != exitSyncFailed || !strings.Contains(ee.msg, "app /big is Degraded") || !strings.Contains(ee.msg, "cpus") {
		t.Fatalf("commit E (an unplaceable app): %+v", ee)
	}
}

// waitAPI waits until berth up answers.
func waitAPI(t *testing.T, api string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("berth up never answered at %s", api)
}
