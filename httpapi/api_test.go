package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/plan"
)

func newTestAPI(t *testing.T) (*reconciler.Reconciler, http.Handler) {
	st := cluster.NewState(memstore.New().Client())
	r := reconciler.New(reconciler.Config{}, nil, st)
	mux := http.NewServeMux()
	for p, h := range Routes(r, st, Options{Token: "tok", WebhookSecret: "hooksecret"}) {
		mux.Handle(p, h)
	}
	return r, mux
}

func TestAPIAuth(t *testing.T) {
	r, h := newTestAPI(t)
	body := `{"ref":"refs/heads/main"}`
	sign := func(key string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	tests := []struct {
		name, method, path string
		header             map[string]string
		code               int
		triggers           bool
	}{
		{"webhook with a bad signature", "POST", "/v1/hooks/git", map[string]string{"X-Hub-Signature-256": sign("wrong")}, 401, false},
		{"webhook without a signature", "POST", "/v1/hooks/git", nil, 401, false},
		{"webhook signed", "POST", "/v1/hooks/git", map[string]string{"X-Hub-Signature-256": sign("hooksecret")}, 202, true},
		{"sync without a token", "POST", "/v1/sync", nil, 401, false},
		{"sync with a wrong token", "POST", "/v1/sync", map[string]string{"Authorization": "Bearer nope"}, 401, false},
		{"sync with the token", "POST", "/v1/sync", map[string]string{"Authorization": "Bearer tok"}, 202, true},
		{"reads are open by default", "GET", "/v1/tasks", nil, 200, false},
		{"agents", "GET", "/v1/agents", nil, 200, false},
		{"unknown app", "GET", "/v1/apps/nope", nil, 404, false},
		{"queues", "GET", "/v1/queues", nil, 200, false},
		{"deployments", "GET", "/v1/deployments", nil, 200, false},
		{"jobs", "GET", "/v1/jobs", nil, 200, false},
		{"a job's runs", "GET", "/v1/jobs/nightly/runs", nil, 200, false},
		{"run a job without a token", "POST", "/v1/jobs/nightly/run", nil, 401, false},
		{"run a job not declared", "POST", "/v1/jobs/nightly/run", map[string]string{"Authorization": "Bearer tok"}, 404, false},
		{"the scheme is case-insensitive", "POST", "/v1/sync", map[string]string{"Authorization": "bearer tok"}, 202, true},
		{"the scheme in capitals", "POST", "/v1/sync", map[string]string{"Authorization": "BEARER  tok"}, 202, true},
		{"another scheme", "POST", "/v1/sync", map[string]string{"Authorization": "Basic tok"}, 401, false},
		{"a diff needs the token though reads are open", "GET", "/v1/diff", nil, 401, false},
		{"so does the observed state", "GET", "/v1/observed", nil, 401, false},
		{"the observed state with the token", "GET", "/v1/observed", map[string]string{"Authorization": "Bearer tok"}, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			before := r.Status().Generation
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Errorf("%s %s = %d (%s), want %d", tt.method, tt.path, rec.Code, rec.Body, tt.code)
			}
			// A sync request moves the request generation.
			if got := r.Status().Generation != before; got != tt.triggers {
				t.Errorf("triggered a sync = %v, want %v", got, tt.triggers)
			}
		})
	}
}

// runJobs is a reconciler whose RunJob answers from a table, to check how
// the API words each answer.
type runJobs struct {
	*reconciler.Reconciler
	errs  map[string]error
	asked []string
}

func (f *runJobs) RunJob(job string) error {
	f.asked = append(f.asked, job)
	return f.errs[job]
}

// POST /v1/jobs/{name}/run: accepted, refused for a disabled job (409), or
// not found (404), with the reconciler's words.
func TestAPIRunJob(t *testing.T) {
	st := cluster.NewState(memstore.New().Client())
	f := &runJobs{Reconciler: reconciler.New(reconciler.Config{}, nil, st), errs: map[string]error{
		"old":  fmt.Errorf("%w: jobs/old.yaml:1: job old has disabled: true (commit c1); enable it to run it", reconciler.ErrJobDisabled),
		"nope": errors.New(`no job "nope" in the desired state (commit c1)`),
	}}
	mux := http.NewServeMux()
	for p, h := range Routes(f, st, Options{Token: "tok"}) {
		mux.Handle(p, h)
	}
	tests := []struct {
		job  string
		code int
		msg  string
	}{
		{"nightly", 202, `"requested"`},
		{"old", 409, "jobs/old.yaml:1: job old has disabled: true"},
		{"nope", 404, `no job \"nope\"`},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("POST", "/v1/jobs/"+tt.job+"/run", nil)
		req.Header.Set("Authorization", "Bearer tok")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.msg) {
			t.Errorf("run %s = %d %s, want %d with %q", tt.job, rec.Code, rec.Body, tt.code, tt.msg)
		}
	}
	if !cmp.Equal(f.asked, []string{"nightly", "old", "nope"}) {
		t.Errorf("runs asked of the reconciler: %v", f.asked)
	}
}

// TestDiffGate: concurrent diffs of one ref share one computation, and
// computations past the burst are refused with a wait, not queued.
func TestDiffGate(t *testing.T) {
	g := newDiffGate()
	now := time.Unix(1000, 0)
	g.now = func() time.Time { return now }
	g.last = now
	release := make(chan struct{})
	var calls atomic.Int32
	slow := func(ctx context.Context, ref string) (*plan.Plan, plan.Header, error) {
		calls.Add(1)
		<-release
		return &plan.Plan{}, plan.Header{Head: plan.Revision{Ref: ref}}, nil
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, h, wait, err := g.do(context.Background(), "main", slow)
			if err != nil || wait != 0 || p == nil || h.Head.Ref != "main" {
				t.Errorf("shared diff: %v %v %v", h, wait, err)
			}
		}()
	}
	for {
		g.mu.Lock()
		c := g.inflight["main"]
		joined := c != nil && c.shared == 9
		g.mu.Unlock()
		if joined {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("10 concurrent diffs of one ref computed %d times, want 1", n)
	}
	// The burst allows diffBurst computations; one was spent above.
	fast := func(ctx context.Context, ref string) (*plan.Plan, plan.Header, error) {
		return &plan.Plan{}, plan.Header{}, nil
	}
	for i := range diffBurst - 1 {
		if _, _, wait, err := g.do(context.Background(), fmt.Sprint("ref", i), fast); wait != 0 || err != nil {
			t.Fatalf("diff %d within the burst refused: %v %v", i, wait, err)
		}
	}
	_, _, wait, _ := g.do(context.Background(), "one-too-many", fast)
	if wait <= 0 || wait > diffInterval {
		t.Fatalf("a diff past the burst: wait %v, want (0, %v]", wait, diffInterval)
	}
	now = now.Add(diffInterval)
	if _, _, wait, _ := g.do(context.Background(), "later", fast); wait != 0 {
		t.Fatalf("a diff after the interval was refused (wait %v)", wait)
	}
}

// TestDiffTooManyRequests: over HTTP, a refused diff is 429 with Retry-After.
func TestDiffTooManyRequests(t *testing.T) {
	r, _ := newTestAPI(t)
	st := cluster.NewState(memstore.New().Client())
	a := &api{r: r, state: st, o: Options{Token: "tok"}, diffs: newDiffGate()}
	a.diffs.tokens = 0
	a.diffs.last = time.Now()
	rec := httptest.NewRecorder()
	a.diff(rec, httptest.NewRequest("GET", "/v1/diff?ref=main", nil))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d, Retry-After %q: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}
