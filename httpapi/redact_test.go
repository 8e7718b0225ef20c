package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/reconciler/reconcilertest"
	"github.com/berthops/berth/testenv"
)

// TestRepoCredentialsNotShown: with a token in the --repo URL, a failing
// fetch is reported in the status (GET /v1/sync) and its events without the
// token.
func TestRepoCredentialsNotShown(t *testing.T) {
	testenv.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const token = "s3cret-repo-token"
	srv := testenv.StartGitServerAuth(t, "ci", token)
	repo := srv.NewRepo(t, "cluster")
	repo.Commit(t, "main", map[string]string{"apps/web.yaml": reconcilertest.Web(1)}, "web")
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	lead, err := tree.Client().Campaign(ctx, "/leader", "s1")
	if err != nil {
		t.Fatal(err)
	}
	url := strings.Replace(repo.URL, "://", "://ci:"+token+"@", 1)
	src, err := reconciler.OpenGit(ctx, gitsource.Options{URL: url, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := reconciler.New(reconciler.Config{Branch: "main", Poll: time.Hour, Resync: 20 * time.Millisecond}, src, st)
	events := make(chan reconciler.Status, 64)
	defer r.Subscribe(events)()
	go func() { _ = r.Run(ctx, lead) }()
	reconcilertest.WaitFor(t, ctx, "the first commit", func() bool { return r.Status().Desired != "" })

	if err := os.RemoveAll(filepath.Join(srv.Root, "cluster.git")); err != nil {
		t.Fatal(err)
	}
	r.Sync()
	reconcilertest.WaitFor(t, ctx, "a git error", func() bool { return r.Status().GitError != "" })
	if msg := r.Status().GitError; strings.Contains(msg, token) {
		t.Errorf("gitError holds the token: %s", msg)
	}
	mux := http.NewServeMux()
	for pat, h := range Routes(r, st, Options{}) {
		mux.Handle(pat, h)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/sync", nil))
	if rec.Code != 200 || strings.Contains(rec.Body.String(), token) || !strings.Contains(rec.Body.String(), "gitError") {
		t.Errorf("GET /v1/sync: %d %s", rec.Code, rec.Body)
	}
	for {
		select {
		case st := <-events:
			if strings.Contains(st.GitError, token) {
				t.Fatalf("an event holds the token: %s", st.GitError)
			}
			continue
		default:
		}
		break
	}
}
