package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/plan"
	"github.com/berthops/berth/reconciler/reconcilertest"
)

func TestLiveDiffAgainstTheCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	repo, st, r, _ := reconcilertest.StartLoop(ctx, t, nil)
	reconcilertest.WaitFor(t, ctx, "2 running tasks", func() bool { return reconcilertest.CountRunning(ctx, st) == 2 })

	repo.Commit(t, "scale", map[string]string{"apps/web.yaml": reconcilertest.Web(5)}, "web x5")
	p, h, err := r.Diff(ctx, "scale")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 1 || p.Changes[0].Update != plan.UpdateScale || p.Fit == nil || !p.Fit.Fits {
		t.Fatalf("scale diff: %+v fit %+v", p.Changes, p.Fit)
	}
	if h.Base.Commit != r.Status().Desired || h.Head.Ref != "scale" {
		t.Errorf("header %+v", h)
	}
	if got := p.Fit.Needed.Mem; got != 3*32 {
		t.Errorf("needed mem %v, want 3 new instances x 32", got)
	}

	repo.Commit(t, "huge", map[string]string{"apps/web.yaml": strings.Replace(reconcilertest.Web(100), "mem: 32", "mem: 1024", 1)}, "too big")
	p, _, err = r.Diff(ctx, "huge")
	if err != nil {
		t.Fatal(err)
	}
	if p.Fit == nil || p.Fit.Fits || len(p.Fit.Unplaced) == 0 || !strings.Contains(p.Fit.Unplaced[0].Reason, "mem") {
		t.Fatalf("a commit that cannot fit got fit %+v", p.Fit)
	}

	repo.Commit(t, "broken", map[string]string{"apps/web.yaml": "kind: App\nid: /web\ninstancez: 2\n"}, "broken")
	_, _, err = r.Diff(ctx, "broken")
	var list manifests.ErrorList
	if !errors.As(err, &list) || !strings.Contains(err.Error(), `apps/web.yaml:3:1: instancez: unknown field (did you mean "instances"?)`) {
		t.Fatalf("invalid head: %v", err)
	}

	// The same over HTTP, as `berth diff --server` asks.
	mux := http.NewServeMux()
	for pat, h := range Routes(r, st, Options{Token: "tok"}) {
		mux.Handle(pat, h)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer tok")
		return http.DefaultClient.Do(req)
	}
	resp, err := get("/v1/diff?ref=scale")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/diff: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	resp, _ = get("/v1/diff?ref=broken")
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("invalid ref answered %s, want 422", resp.Status)
	}
	resp.Body.Close()
}
