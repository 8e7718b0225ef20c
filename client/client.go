package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler/wire"
	"github.com/berthops/berth/server"
)

// maxBody bounds what a response may hold; the largest real one (every task
// of a big cluster) is far smaller.
const maxBody = 64 << 20

// Client talks to one berth server. Any replica answers reads; the others
// forward leader-only requests to the leader themselves.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New returns a client for the server at base (http://127.0.0.1:8080) that
// sends token, if not empty, as a bearer token on every request. A nil
// httpClient means http.DefaultClient; timeouts come from the contexts.
func New(base, token string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://HOST:PORT or https://HOST:PORT", base)
	}
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, token: strings.TrimSpace(token), http: httpClient}, nil
}

// APIError is a response the server answered with an error status.
type APIError struct {
	Method string
	URL    string
	Code   int
	// Message is the server's {"error": ...}, or the start of the body when
	// the response is not the API's JSON (a proxy's error page, say).
	Message string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.URL, e.Code, http.StatusText(e.Code), msg)
}

// Unauthorized reports whether err is the server refusing the token.
func Unauthorized(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == http.StatusUnauthorized
}

// NotFound reports whether err is the server saying the object does not exist.
func NotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == http.StatusNotFound
}

// Healthz checks that the server process answers.
func (c *Client) Healthz(ctx context.Context) error {
	resp, err := c.do(ctx, http.MethodGet, "/healthz", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.apiError(resp)
	}
	return nil
}

// Status is GET /v1/status: this replica's role, the leader and the agents.
// When the server could not read part of it from the cluster state it
// answers 503 with what it could read; Status then returns that partial
// status together with an error saying what failed.
func (c *Client) Status(ctx context.Context) (server.Status, error) {
	return c.status(ctx, "/v1/status")
}

// StatusCounts is GET /v1/status?agents=count: the replica's status with
// the agents counted (AgentCounts) rather than listed, which costs the
// server two listings instead of a read per agent. A server older than
// AgentCounts lists them all and sends no counts.
func (c *Client) StatusCounts(ctx context.Context) (server.Status, error) {
	return c.status(ctx, "/v1/status?agents=count")
}

func (c *Client) status(ctx context.Context, path string) (server.Status, error) {
	var st server.Status
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return st, c.decode(resp, &st)
	case http.StatusServiceUnavailable:
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if rerr == nil && json.Unmarshal(body, &st) == nil && st.Error != "" {
			return st, &APIError{Method: http.MethodGet, URL: resp.Request.URL.String(), Code: resp.StatusCode, Message: st.Error}
		}
		return server.Status{}, errorFrom(resp, body)
	}
	return st, c.apiError(resp)
}

// SyncStatus is GET /v1/sync: the commits, a rejected commit with its errors,
// whether the cluster converged and every app's sync and health.
func (c *Client) SyncStatus(ctx context.Context) (wire.Status, error) {
	var st wire.Status
	return st, c.get(ctx, "/v1/sync", &st)
}

// Sync is POST /v1/sync: ask the leader to fetch Git and reconcile now. It
// returns once the request is accepted, not when the sync is done, with the
// request's generation: the sync has fetched once the status's Fetched
// reaches it (0 from a server that does not number requests).
func (c *Client) Sync(ctx context.Context) (uint64, error) {
	resp, err := c.do(ctx, http.MethodPost, "/v1/sync", nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return 0, c.apiError(resp)
	}
	var body struct {
		Generation uint64 `json:"generation"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&body)
	return body.Generation, nil
}

// Apps is GET /v1/apps: every declared app's sync and health.
func (c *Client) Apps(ctx context.Context) ([]wire.AppStatus, error) {
	return getAll[wire.AppStatus](ctx, c, "/v1/apps", nil)
}

// App is GET /v1/apps/{id}; NotFound(err) when Git declares no such app.
func (c *Client) App(ctx context.Context, id string) (wire.AppStatus, error) {
	var app wire.AppStatus
	segs := strings.Split(strings.Trim(id, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return app, c.get(ctx, "/v1/apps/"+strings.Join(segs, "/"), &app)
}

// Tasks is GET /v1/tasks: every task, or only app's when app is not empty,
// read page by page.
func (c *Client) Tasks(ctx context.Context, app string) ([]cluster.Task, error) {
	q := url.Values{}
	if app != "" {
		q.Set("app", app)
	}
	return getAll[cluster.Task](ctx, c, "/v1/tasks", q)
}

// Agents is GET /v1/agents: every registered agent, reachable or not.
func (c *Client) Agents(ctx context.Context) ([]cluster.Agent, error) {
	return getAll[cluster.Agent](ctx, c, "/v1/agents", nil)
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.apiError(resp)
	}
	return c.decode(resp, v)
}

// do sends a request; pathAndQuery is relative to the server's base URL.
func (c *Client) do(ctx context.Context, method, pathAndQuery string, body io.Reader) (*http.Response, error) {
	u := c.base.String() + pathAndQuery
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it would repeat the method and URL
		}
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	return resp, nil
}

func (c *Client) decode(resp *http.Response, v any) error {
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", resp.Request.Method, resp.Request.URL, err)
	}
	return nil
}

func (c *Client) apiError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return errorFrom(resp, body)
}

// errorFrom builds the APIError for a response whose body was read.
func errorFrom(resp *http.Response, body []byte) error {
	e := &APIError{Method: resp.Request.Method, URL: resp.Request.URL.String(), Code: resp.StatusCode}
	var msg struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &msg) == nil && msg.Error != "" {
		e.Message = msg.Error
	} else {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "..."
		}
	}
	return e
}
