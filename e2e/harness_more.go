package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/testenv"
)

// ExampleFiles reads the repository's examples/ directory as a map from
// path (relative to examples/) to contents, ready for Repo.Push.
func ExampleFiles(t testing.TB) map[string]string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return testenv.Files(t, filepath.Join(root, "examples"))
}

// Adapt replaces old by new in s and fails the test when s does not hold
// old: an example that changed shape must be noticed, not silently run
// unadapted.
func Adapt(t testing.TB, name, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("e2e: adapting %s: %q not found in:\n%s", name, old, s)
	}
	return strings.Replace(s, old, new, 1)
}

// Get fetches url on a fresh connection and returns the status code and
// body.
func Get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("get %s: %w", url, err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// Post sends an empty POST to url with the bearer token (none when token is
// "") and returns the status code.
func Post(ctx context.Context, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post %s: %w", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Converge runs Cluster.Wait and logs, in a form docs/reliability.md
// quotes, how long the drill took to converge after the failure.
func (c *Cluster) Converge(drill string, since time.Time, timeout time.Duration, cond func(ctx context.Context) error) time.Duration {
	c.t.Helper()
	c.Wait(drill, timeout, cond)
	d := time.Since(since).Round(100 * time.Millisecond)
	c.t.Logf("CONVERGE %s: %s", drill, d)
	return d
}

// AgentFor returns the agent with id, or nil.
func (c *Cluster) AgentFor(id string) *Agent {
	for _, a := range c.Agents {
		if a.ID == id {
			return a
		}
	}
	return nil
}
