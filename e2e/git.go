package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/berthops/berth/testenv"
)

// Repo is the manifests repository: a bare repository on a smart-HTTP Git
// server, and a working copy the test commits in and pushes from with the
// git command, as a user would.
type Repo struct {
	// URL is the repository's smart-HTTP URL, the servers' --repo.
	URL  string
	work string
	home string

	mu   sync.Mutex
	head string
}

func newRepo(t testing.TB, srv *testenv.GitServer) *Repo {
	t.Helper()
	bare := srv.NewRepo(t, "cluster")
	r := &Repo{URL: bare.URL, work: t.TempDir(), home: t.TempDir()}
	r.git(t, "init", "-q", "-b", "main")
	r.git(t, "remote", "add", "origin", r.URL)
	return r
}

// git runs git in the working copy with a private HOME, so the machine's
// own Git configuration plays no part.
func (r *Repo) git(t testing.TB, args ...string) string {
	t.Helper()
	out, err := r.run(args...)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return out
}

func (r *Repo) run(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "user.name=Berth E2E", "-c", "user.email=e2e@berth.invalid"}, args...)...)
	cmd.Dir = r.work
	cmd.Env = append(os.Environ(), "HOME="+r.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Push commits set (path to content, written over what is there) and the
// removal of remove on main, pushes it over HTTP and returns the commit's
// hash.
func (r *Repo) Push(t testing.TB, msg string, set map[string]string, remove ...string) string {
	t.Helper()
	head, err := r.Commit(msg, set, remove...)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return head
}

// Commit is Push for callers that are not the test's goroutine (a soak's
// generator): it returns the error instead of failing the test.
func (r *Repo) Commit(msg string, set map[string]string, remove ...string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(r.work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", fmt.Errorf("commit %q: %w", msg, err)
		}
		if err := os.WriteFile(full, []byte(set[p]), 0o644); err != nil {
			return "", fmt.Errorf("commit %q: %w", msg, err)
		}
	}
	for _, p := range remove {
		if err := os.Remove(filepath.Join(r.work, filepath.FromSlash(p))); err != nil {
			return "", fmt.Errorf("commit %q: remove %s: %w", msg, p, err)
		}
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "--allow-empty", "-m", msg}, {"push", "-q", "origin", "HEAD:refs/heads/main"}} {
		if _, err := r.run(args...); err != nil {
			return "", fmt.Errorf("commit %q: %w", msg, err)
		}
	}
	head, err := r.run("rev-parse", "HEAD")
	if err != nil {
		return "", fmt.Errorf("commit %q: %w", msg, err)
	}
	r.head = head
	return head, nil
}

// Head is the last commit pushed.
func (r *Repo) Head() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.head
}

// SendWebhook posts a GitHub push event for commit on main to the server at
// base, signed with secret (X-Hub-Signature-256), and returns the status
// code and body of the answer.
func SendWebhook(ctx context.Context, base, secret, commit string) (int, string, error) {
	payload, err := json.Marshal(map[string]any{
		"ref":        "refs/heads/main",
		"after":      commit,
		"repository": map[string]string{"full_name": "berth/cluster"},
	})
	if err != nil {
		return 0, "", err
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/hooks/git", bytes.NewReader(payload))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}
