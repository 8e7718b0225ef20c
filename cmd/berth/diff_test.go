package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/client/clienttest"
	"github.com/berthops/berth/testenv"
)

var updateDiff = flag.Bool("update-diff", false, "rewrite cmd/berth/testdata/diff golden files")

// runBerth runs the command tree in process and returns stdout, stderr and
// the exit status main would use.
func runDiffCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	// The parse cache's default home is the user's cache directory: point it
	// into the test's own temporary directory, once per test, so later runs
	// of the same test read what earlier ones saved.
	marker := "berth-test-" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if filepath.Base(os.Getenv("XDG_CACHE_HOME")) != marker {
		t.Setenv("XDG_CACHE_HOME", filepath.Join(t.TempDir(), marker))
	}
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var ee *exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.code
		errb.WriteString(ee.msg)
	default:
		code = 1
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

func diffGolden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", "diff", name)
	if *updateDiff {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -run TestDiff -update-diff creates it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s (-want +got):\n%s", file, d)
	}
}

const (
	webV1 = "kind: App\nid: /web\ncmd: ./web\ninstances: 2\ncpus: 0.1\nmem: 32\nqueue: /prod\nlabels:\n  team: web\n"
	dbV1  = "kind: App\nid: /db\ncmd: ./db\ninstances: 1\ncpus: 0.5\nmem: 256\n"
	etl   = "kind: Job\nname: etl\ncommand: ./etl\nschedule: R/2026-01-01T00:00:00Z/PT1H\ncpus: 0.1\nmem: 32\n"
	queue = "kind: Queue\nid: /prod\ncapacity: 100\nmaxCapacity: 100\n"
)

func baseFiles() map[string]string {
	return map[string]string{
		"README.md":              "cluster manifests\n",
		"deploy/apps/web.yaml":   webV1,
		"deploy/apps/db.yaml":    dbV1,
		"deploy/jobs/etl.yaml":   etl,
		"deploy/queues.yaml":     queue,
		"deploy/templates/x.txt": "not a manifest",
	}
}

// featureChange renames db.yaml (no change), deletes the etl job, scales web,
// restarts db... no: changes web's labels and instances, and adds /cache.
func featureChange(t *testing.T, r *testenv.GitRepo) string {
	return r.Change(t, "feature", map[string]string{
		"deploy/apps/database.yaml": dbV1,
		"deploy/apps/web.yaml":      strings.Replace(webV1, "instances: 2", "instances: 4", 1),
		"deploy/apps/cache.yaml":    "kind: App\nid: /cache\ncmd: ./cache\ninstances: 1\ncpus: 0.1\nmem: 64\ndependencies: [/db]\n",
	}, []string{"deploy/apps/db.yaml", "deploy/jobs/etl.yaml"}, "feature")
}

// TestDiffCommits compares two commits of a real repository with a rename,
// a deletion, a scale and a create, in every format.
func TestDiffCommits(t *testing.T) {
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "cluster.git"))
	base := r.Commit(t, "main", baseFiles(), "base")
	r.SetRef(t, "refs/heads/feature", base)
	featureChange(t, r)

	for _, format := range []string{"text", "markdown", "json"} {
		out, errOut, code := runDiffCmd(t, "diff", "--repo", r.Dir, "--base", "main", "--head", "feature", "--path", "deploy", "--format", format, "--exit-code")
		if code != 2 {
			t.Fatalf("%s: exit %d, want 2 (changes)\nstderr: %s", format, code, errOut)
		}
		diffGolden(t, "commits."+format, out)
	}
	// A base from before the manifest directory existed: everything is new.
	empty := r.Commit(t, "empty", map[string]string{"README.md": "x"}, "before deploy/")
	out, errOut, code := runDiffCmd(t, "diff", "--repo", r.Dir, "--base", empty, "--head", "main", "--path", "deploy", "--exit-code")
	if code != 2 || !strings.Contains(out, "Plan: 4 to create, 0 to update, 0 to delete, 0 unchanged.") {
		t.Errorf("diff from before deploy/: exit %d, out %q, stderr %q", code, out, errOut)
	}
	// No changes: exit 0, for the same commit and for a change outside --path.
	outside := r.Change(t, "main", map[string]string{"README.md": "changed\n"}, nil, "docs only")
	for _, head := range []string{"main", outside} {
		out, errOut, code := runDiffCmd(t, "diff", "--repo", r.Dir, "--base", base, "--head", head, "--path", "deploy", "--exit-code")
		if code != 0 || !strings.Contains(out, "No changes. 4 unchanged.") {
			t.Errorf("diff %s..%s: exit %d, out %q, stderr %q", base, head, code, out, errOut)
		}
	}
}

// TestDiffInvalidHead: a head commit with invalid manifests prints validate's
// errors, with paths from the repository root, and exits 1.
func TestDiffInvalidHead(t *testing.T) {
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "cluster.git"))
	base := r.Commit(t, "main", baseFiles(), "base")
	r.SetRef(t, "refs/heads/bad", base)
	r.Change(t, "bad", map[string]string{"deploy/apps/web.yaml": strings.Replace(webV1, "cpus: 0.1", "cpus: lots", 1)}, nil, "break web")
	out, errOut, code := runDiffCmd(t, "diff", "--repo", r.Dir, "--base", "main", "--head", "bad", "--path", "deploy")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nout: %s\nstderr: %s", code, out, errOut)
	}
	diffGolden(t, "invalid-head.text", out)
	if !strings.Contains(errOut, "head manifests") {
		t.Errorf("stderr %q does not say the head is invalid", errOut)
	}
	out, _, code = runDiffCmd(t, "diff", "--repo", r.Dir, "--base", "main", "--head", "bad", "--path", "deploy", "--format", "json")
	if code != 1 {
		t.Fatalf("json: exit %d, want 1", code)
	}
	diffGolden(t, "invalid-head.json", out)
	_, errOut, code = runDiffCmd(t, "diff", "--repo", r.Dir, "--base", "main", "--head", "no-such-branch")
	if code != 1 || !strings.Contains(errOut, "no-such-branch") {
		t.Errorf("unknown head: exit %d, stderr %q", code, errOut)
	}
}

// TestDiffRemoteForcePush diffs a repository served over smart HTTP with a
// token, before and after the PR branch is force-pushed.
func TestDiffRemoteForcePush(t *testing.T) {
	testenv.Integration(t)
	srv := testenv.StartGitServerAuth(t, "x-access-token", "tok")
	r := srv.NewRepo(t, "cluster")
	base := r.Commit(t, "main", baseFiles(), "base")
	r.SetRef(t, "refs/heads/feature", base)
	featureChange(t, r)
	t.Setenv("BERTH_GIT_TOKEN", "tok")
	cache := t.TempDir()
	args := []string{"diff", "--repo", r.URL, "--cache-dir", cache, "--base", "main", "--head", "feature", "--path", "deploy", "--format", "json"}
	out, errOut, code := runDiffCmd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	diffGolden(t, "commits.json", out)

	// Force-push feature to a single different change: only /db restarts.
	r.SetRef(t, "refs/heads/feature", base)
	r.Change(t, "feature", map[string]string{"deploy/apps/db.yaml": strings.Replace(dbV1, "./db", "./db --fast", 1)}, nil, "rewritten")
	out, errOut, code = runDiffCmd(t, append(args[:len(args)-1], "text")...)
	if code != 0 {
		t.Fatalf("after force push: exit %d: %s", code, errOut)
	}
	diffGolden(t, "force-pushed.text", out)

	t.Setenv("BERTH_GIT_TOKEN", "wrong")
	if _, errOut, code := runDiffCmd(t, args...); code != 1 || !strings.Contains(errOut, "auth") {
		t.Errorf("wrong token: exit %d, stderr %q", code, errOut)
	}
}

// TestDiffObserved compares a commit with live state from a file.
func TestDiffObserved(t *testing.T) {
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "cluster.git"))
	r.Commit(t, "main", baseFiles(), "base")
	state := filepath.Join(t.TempDir(), "state.json")
	// Live: /web runs 3 of 2 wanted with an old image; /old is still there.
	live := `{"applied": {"apps": [
	  {"id": "/old", "cmd": "./old", "instances": 1, "cpus": 0.1, "mem": 32},
	  {"id": "/web", "cmd": "./web-old", "instances": 2, "cpus": 0.1, "mem": 32, "queue": "/prod", "labels": {"team": "web"}, "tasksRunning": 3}
	]}, "apps": {"/web": {"tasksRunning": 3, "tasksHealthy": 3}}}`
	if err := os.WriteFile(state, []byte(live), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runDiffCmd(t, "diff", "--repo", r.Dir, "--observed", state, "--path", "deploy", "--format", "markdown")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"<b>delete</b> App <code>/old</code>", "<b>create</b> Queue <code>/prod</code>", "<b>update</b> App <code>/web</code> (restart)", "Running now: 3", "<code>cmd</code>"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestDiffFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"diff", "--server", "http://127.0.0.1:1"}, "127.0.0.1:1"},
		{[]string{"diff"}, "give --base REF"},
		{[]string{"diff", "--observed", "x.json", "--server", "http://127.0.0.1:1"}, "at most one of"},
		{[]string{"diff", "--base", "main", "--observed", "x.json"}, "x.json"},
		{[]string{"diff", "--base", "main", "--format", "yaml"}, "--format"},
		{[]string{"diff", "--base", "main", "--repo", "/no/such/dir"}, "/no/such/dir"},
	} {
		_, errOut, code := runDiffCmd(t, tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want 1 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestDiffAgainstServer plans a local commit that was never pushed against a
// running server's live state, with the allocator's verdict.
func TestDiffAgainstServer(t *testing.T) {
	const app = `kind: App
id: /web
instances: %d
cpus: 0.1
mem: %d
cmd: sleep 1000
`
	env := clienttest.Start(t, clienttest.Options{Files: map[string]string{"apps/web.yaml": fmt.Sprintf(app, 2, 32)}})
	env.Reconciler.Sync()
	env.WaitFor(t, "two tasks", func() bool {
		tasks, _ := env.State.Tasks(context.Background())
		return len(tasks) == 2
	})
	local := testenv.NewGitRepo(t, t.TempDir())
	local.Commit(t, "main", map[string]string{"apps/web.yaml": fmt.Sprintf(app, 3, 32)}, "web x3")
	// The live state is never open: without the token the diff is refused.
	if _, errOut, code := runDiffCmd(t, "diff", "--repo", local.Dir, "--head", "main", "--server", env.URL); code == 0 || !strings.Contains(errOut, "401") {
		t.Fatalf("a diff against the server without the token: exit %d, stderr %s", code, errOut)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(clienttest.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runDiffCmd(t, "diff", "--repo", local.Dir, "--head", "main", "--server", env.URL, "--token-file", tokenFile, "--format", "json", "--exit-code")
	if code != 2 {
		t.Fatalf("exit %d, want 2 (changes); stderr %s", code, errOut)
	}
	var got struct {
		Changes []struct{ Update string }
		Fit     *struct{ Fits bool }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(got.Changes) != 1 || got.Changes[0].Update != "scale" || got.Fit == nil || !got.Fit.Fits {
		t.Errorf("diff against the server: %s", out)
	}
	local.Commit(t, "main", map[string]string{"apps/web.yaml": fmt.Sprintf(app, 50, 4096)}, "too big")
	out, _, _ = runDiffCmd(t, "diff", "--repo", local.Dir, "--head", "main", "--server", env.URL, "--token-file", tokenFile)
	if !strings.Contains(out, "mem") {
		t.Errorf("a commit that cannot fit does not say why:\n%s", out)
	}
}

// TestDiffParseCache: a diff through a cold, a warm and a damaged parse cache
// prints exactly what a diff without one prints, errors included, and
// --no-parse-cache leaves nothing behind.
func TestDiffParseCache(t *testing.T) {
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "cluster.git"))
	base := r.Commit(t, "main", baseFiles(), "base")
	r.SetRef(t, "refs/heads/feature", base)
	featureChange(t, r)
	r.SetRef(t, "refs/heads/bad", base)
	r.Change(t, "bad", map[string]string{"deploy/apps/web.yaml": strings.Replace(webV1, "cpus: 0.1", "cpus: lots", 1)}, nil, "break web")

	for _, head := range []string{"feature", "bad"} {
		args := []string{"diff", "--repo", r.Dir, "--base", "main", "--head", head, "--path", "deploy", "--format", "json"}
		off := t.TempDir()
		want, _, wantCode := runDiffCmd(t, append(args, "--cache-dir", off, "--no-parse-cache")...)
		if entries, _ := os.ReadDir(off); len(entries) != 0 {
			t.Errorf("--no-parse-cache wrote %d entries into the cache directory", len(entries))
		}
		cache := t.TempDir()
		args = append(args, "--cache-dir", cache)
		for _, run := range []string{"cold", "warm", "damaged"} {
			if run == "damaged" {
				files, _ := filepath.Glob(filepath.Join(cache, "manifests", "*.cache"))
				if len(files) != 1 {
					t.Fatalf("want one cache file, found %v", files)
				}
				data, _ := os.ReadFile(files[0])
				data[len(data)/2] ^= 0xff
				if err := os.WriteFile(files[0], data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			out, errOut, code := runDiffCmd(t, args...)
			if code != wantCode {
				t.Fatalf("%s %s: exit %d, want %d: %s", head, run, code, wantCode, errOut)
			}
			if diff := cmp.Diff(want, out); diff != "" {
				t.Errorf("%s %s: output differs from an uncached diff (-want +got):\n%s", head, run, diff)
			}
			if damaged := strings.Contains(errOut, "ignoring the parse cache"); damaged != (run == "damaged") {
				t.Errorf("%s %s: stderr %q", head, run, errOut)
			}
		}
	}
}

// TestDiffSchedulePreview: a PR that moves a job to a Los Angeles schedule
// crossing the spring-forward gap, adds a Jan 31 monthly job and one whose
// repeat count is used up gets schedule previews, seen from --now so the
// goldens do not depend on the clock.
func TestDiffSchedulePreview(t *testing.T) {
	r := testenv.NewGitRepo(t, filepath.Join(t.TempDir(), "cluster.git"))
	base := r.Commit(t, "main", baseFiles(), "base")
	r.SetRef(t, "refs/heads/feature", base)
	r.Change(t, "feature", map[string]string{
		"deploy/jobs/etl.yaml": strings.Replace(etl, "schedule: R/2026-01-01T00:00:00Z/PT1H",
			"schedule: R/2026-01-01T02:30:00Z/P1D\nscheduleTimeZone: America/Los_Angeles", 1),
		"deploy/jobs/invoice.yaml": "kind: Job\nname: invoice\ncommand: ./invoice\nschedule: R/2026-01-31T09:00:00Z/P1M\ncpus: 0.1\nmem: 32\n",
		"deploy/jobs/seed.yaml":    "kind: Job\nname: seed\ncommand: ./seed\nschedule: R3/2026-01-01T00:00:00Z/P1D\ncpus: 0.1\nmem: 32\n",
		"deploy/jobs/nightly.yaml": "kind: Job\nname: nightly\ncommand: ./nightly\ncron: 30 2 * * *\nscheduleTimeZone: Europe/Berlin\ncpus: 0.1\nmem: 32\n",
	}, nil, "reschedule etl, add invoice, seed and nightly")
	args := []string{"diff", "--repo", r.Dir, "--base", "main", "--head", "feature", "--path", "deploy", "--now", "2026-03-05T12:00:00Z"}
	for _, format := range []string{"markdown", "json"} {
		out, errOut, code := runDiffCmd(t, append(args, "--format", format)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		diffGolden(t, "schedule."+format, out)
	}
	out, errOut, code := runDiffCmd(t, append(args, "--next-runs", "2")...)
	// Two runs a side: etl before and after, invoice, nightly; seed has none.
	if code != 0 || strings.Count(out, "\n        2026-") != 8 || !strings.Contains(out, "DST gap") {
		t.Errorf("--next-runs 2: exit %d, stderr %s, out:\n%s", code, errOut, out)
	}
	out, _, code = runDiffCmd(t, append(args, "--next-runs", "0")...)
	if code != 0 || strings.Contains(out, "schedule preview") {
		t.Errorf("--next-runs 0 still previews: exit %d\n%s", code, out)
	}
	// A parent that does not exist is no preview warning: validation
	// refuses the head, and the diff prints why instead of a plan.
	orphan := r.Change(t, "feature", map[string]string{
		"deploy/jobs/report.yaml": "kind: Job\nname: report\ncommand: ./report\nparents: [no-such-job]\ncpus: 0.1\nmem: 32\n",
	}, nil, "a job after a job that does not exist")
	out, _, code = runDiffCmd(t, "diff", "--repo", r.Dir, "--base", "main", "--head", orphan, "--path", "deploy", "--format", "markdown")
	if code != 1 || !strings.Contains(out, `parents: no job "no-such-job" is declared`) || strings.Contains(out, "Schedule preview") {
		t.Errorf("a missing parent: exit %d, want 1 and the validation error:\n%s", code, out)
	}
	for flagArgs, want := range map[string]string{"--now=yesterday": "--now", "--next-runs=-1": "--next-runs", "--next-runs=1000": "--next-runs"} {
		if _, errOut, code := runDiffCmd(t, append(args, flagArgs)...); code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, stderr %q", flagArgs, code, errOut)
		}
	}
}
