package reconciler

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/manifests"
)

func newTestAPI(t *testing.T) (*Reconciler, http.Handler) {
	st := cluster.NewState(memstore.New().Client())
	r := New(Config{}, nil, st)
	mux := http.NewServeMux()
	for p, h := range r.Routes(st, APIOptions{Token: "tok", WebhookSecret: "hooksecret"}) {
		mux.Handle(p, h)
	}
	return r, mux
}

func synced(r *Reconciler) bool {
	select {
	case <-r.trigger:
		return true
	default:
		return false
	}
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Errorf("%s %s = %d (%s), want %d", tt.method, tt.path, rec.Code, rec.Body, tt.code)
			}
			if got := synced(r); got != tt.triggers {
				t.Errorf("triggered a sync = %v, want %v", got, tt.triggers)
			}
		})
	}
}

// A run of a disabled job is refused, not accepted and then dropped by the
// pass; the error names the manifest.
func TestAPIRunJob(t *testing.T) {
	r, h := newTestAPI(t)
	r.desired = &manifests.Set{Jobs: []manifests.Job{
		{Name: "nightly", Schedule: "R/2026-01-01T00:00:00Z/P1D"},
		{Name: "old", Schedule: "R/2026-01-01T00:00:00Z/P1D", Disabled: true, Origin: manifests.Origin{File: "jobs/old.yaml", Line: 1}},
	}}
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
		h.ServeHTTP(rec, req)
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.msg) {
			t.Errorf("run %s = %d %s, want %d with %q", tt.job, rec.Code, rec.Body, tt.code, tt.msg)
		}
	}
	if !cmp.Equal(r.manual, []string{"nightly"}) {
		t.Errorf("manual runs queued: %v, want only nightly", r.manual)
	}
}
