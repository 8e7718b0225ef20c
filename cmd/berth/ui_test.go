package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/testenv"
)

// TestMountServesTheUI: berth server and berth up serve the web UI at /ui/
// (its pages drive a browser in package ui's tests) and send / there.
func TestMountServesTheUI(t *testing.T) {
	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{"apps/web.yaml": "kind: App\nid: /web\ninstances: 0\ncmd: sleep 1\n"}, "web")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memstore.New().Client()
	cp, err := newControlPlane(ctx, slog.New(slog.DiscardHandler), store, controlFlags{repo: repo.FileURL(), branch: "main",
		cacheDir: t.TempDir(), poll: time.Hour, resync: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{ID: "s1", Store: store})
	cp.mount(srv, nil)
	h := srv.Handler()
	for _, tt := range []struct {
		path, want string
		code       int
	}{
		{"/", "/ui/", http.StatusFound},
		{"/ui/", "<title>Berth</title>", http.StatusOK},
		{"/ui/apps/web/nginx", "<title>Berth</title>", http.StatusOK},
		{"/ui/static/app.js", "sessionStorage", http.StatusOK},
		{"/ui/static/nope.css", "not found", http.StatusNotFound},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
		got := rec.Body.String() + rec.Header().Get("Location")
		if rec.Code != tt.code || !strings.Contains(got, tt.want) {
			t.Errorf("GET %s = %d %.80q, want %d with %q", tt.path, rec.Code, got, tt.code, tt.want)
		}
		if tt.code == http.StatusOK && !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: no Content-Security-Policy", tt.path)
		}
	}
}
