// Package agentlogs carries a task's output from the agent that runs it to
// the server that asked, over HTTP: the agent serves its own tasks' logs
// (Handler, over a launch.Runtime's Logs) and the server fetches them
// (Client), so `berth logs` and the web UI work from anywhere. Every request
// carries a per-agent key (Key) that only the servers and that agent can
// compute: the agent never serves logs without it.
//
// Boundaries: HTTP only. Finding which agent runs a task is the caller's
// (httpapi); reading containers is the runtime's.
package agentlogs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/apiauth"
	"github.com/berthops/berth/cluster"
)

// Key is the credential that opens agentID's logs: an HMAC of the agent id
// under base, a secret the servers and that agent share (the agent's
// ZooKeeper identity password, which servers derive from the agent secret,
// or a logs token both are given). Each agent's key differs, so an agent
// that leaks its key opens no other agent's logs.
func Key(base, agentID string) string {
	m := hmac.New(sha256.New, []byte(base))
	m.Write([]byte("berth-logs\n" + agentID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Path is where an agent serves a task's logs.
const Path = "/v1/tasks/{id}/logs"

// Source reads a task's output on this node (launch.Runtime's Logs).
type Source func(ctx context.Context, taskID string, opts launch.LogOptions, stdout, stderr io.Writer) error

// Handler serves GET /v1/tasks/{id}/logs?tail=N&follow=true for the agent's
// tasks: stdout and stderr merged, flushed as they come. Requests without
// key (in any form apiauth accepts) are refused; an empty key refuses all.
func Handler(src Source, key string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, req *http.Request) {
		if !apiauth.Valid(req, key) {
			http.Error(w, "agent logs need the agent's key", http.StatusUnauthorized)
			return
		}
		opts, err := ParseOptions(req.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fw := NewFlushWriter(w, 0)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		err = src(req.Context(), req.PathValue("id"), opts, fw, fw)
		switch {
		case errors.Is(err, launch.ErrNoTask) && !fw.Wrote():
			http.Error(w, "task "+req.PathValue("id")+" has no container on this node", http.StatusNotFound)
		case err != nil && !fw.Wrote() && req.Context().Err() == nil:
			http.Error(w, "read the task's logs: "+err.Error(), http.StatusBadGateway)
		}
	})
	return mux
}

// ParseOptions reads tail (a number of lines, or "all") and follow.
func ParseOptions(q url.Values) (launch.LogOptions, error) {
	opts := launch.LogOptions{Tail: "all"}
	if t := q.Get("tail"); t != "" && t != "all" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return opts, fmt.Errorf("tail %q: want a number of lines or all", t)
		}
		opts.Tail = strconv.Itoa(n)
	}
	if f := q.Get("follow"); f != "" {
		b, err := strconv.ParseBool(f)
		if err != nil {
			return opts, fmt.Errorf("follow %q: want true or false", f)
		}
		opts.Follow = b
	}
	return opts, nil
}

// Query is the query string of opts.
func Query(opts launch.LogOptions) url.Values {
	q := url.Values{}
	if opts.Tail != "" {
		q.Set("tail", opts.Tail)
	}
	if opts.Follow {
		q.Set("follow", "true")
	}
	return q
}

// FlushWriter flushes every write to the client at once (a followed log is
// read as it comes) and, when timeout is set, gives each write that long,
// so a stalled reader does not hold a stream for ever.
type FlushWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	wrote   bool
}

// NewFlushWriter wraps w.
func NewFlushWriter(w http.ResponseWriter, timeout time.Duration) *FlushWriter {
	return &FlushWriter{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

func (f *FlushWriter) Write(p []byte) (int, error) {
	if f.timeout > 0 {
		_ = f.rc.SetWriteDeadline(time.Now().Add(f.timeout))
	}
	f.wrote = true
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

// Wrote reports whether anything was written.
func (f *FlushWriter) Wrote() bool { return f.wrote }

// Client fetches logs from agents.
type Client struct {
	// Key returns the key of an agent; an error means this server cannot
	// open that agent's logs.
	Key  func(agentID string) (string, error)
	HTTP *http.Client
}

// ErrNoLogs means the agent does not serve logs (no --logs-listen).
var ErrNoLogs = errors.New("the agent does not serve logs (start it with --logs-listen)")

// Logs copies the task's output from its agent to w.
func (c *Client) Logs(ctx context.Context, ag cluster.Agent, taskID string, opts launch.LogOptions, w io.Writer) error {
	if ag.LogsAddress == "" {
		return ErrNoLogs
	}
	key, err := c.Key(ag.ID)
	if err != nil {
		return err
	}
	u := url.URL{Scheme: "http", Host: ag.LogsAddress, Path: "/v1/tasks/" + url.PathEscape(taskID) + "/logs", RawQuery: Query(opts).Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("fetch logs of %s from agent %s: %w", taskID, ag.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return launch.ErrNoTask
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("fetch logs of %s from agent %s: %s: %s", taskID, ag.ID, resp.Status, msg)
	}
	if _, err := io.Copy(w, resp.Body); err != nil && ctx.Err() == nil {
		return fmt.Errorf("copy logs of %s from agent %s: %w", taskID, ag.ID, err)
	}
	return nil
}
