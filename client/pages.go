package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/berthops/berth/cluster"
)

// TaskQuery selects tasks in GET /v1/tasks; empty fields select all.
type TaskQuery struct {
	App, Agent string
	// States are task states (RUNNING, STAGING, ...), any of which matches.
	States []cluster.TaskState
	Health cluster.Health
	// Limit is the page's length (0: the server's default, 500); Cursor
	// is the NextCursor of the previous page ("" for the first).
	Limit  int
	Cursor string
}

// Page is one page of a list: its items, how many match in all, and the
// cursor of the next page ("" on the last).
type Page[T any] struct {
	Items      []T
	Total      int
	NextCursor string
}

// TasksPage is one page of GET /v1/tasks.
func (c *Client) TasksPage(ctx context.Context, tq TaskQuery) (Page[cluster.Task], error) {
	q := url.Values{}
	for k, v := range map[string]string{"app": tq.App, "agent": tq.Agent, "health": string(tq.Health), "cursor": tq.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(tq.States) > 0 {
		states := make([]string, len(tq.States))
		for i, st := range tq.States {
			states[i] = string(st)
		}
		q.Set("state", strings.Join(states, ","))
	}
	if tq.Limit > 0 {
		q.Set("limit", strconv.Itoa(tq.Limit))
	}
	return getPage[cluster.Task](ctx, c, "/v1/tasks", q)
}

// maxPages bounds a walk through a list, so a server that keeps answering
// with a next cursor cannot loop a client forever (150,000 tasks are 300
// pages of 500).
const maxPages = 10000

// getAll reads every page of a list. A server from before pages answers
// the whole list with no cursor, which is then the only page.
func getAll[T any](ctx context.Context, c *Client, path string, q url.Values) ([]T, error) {
	if q == nil {
		q = url.Values{}
	}
	var all []T
	for range maxPages {
		p, err := getPage[T](ctx, c, path, q)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = make([]T, 0, max(p.Total, len(p.Items)))
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			return all, nil
		}
		q.Set("cursor", p.NextCursor)
	}
	return nil, fmt.Errorf("GET %s: more than %d pages", path, maxPages)
}

func getPage[T any](ctx context.Context, c *Client, path string, q url.Values) (Page[T], error) {
	p := path
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	resp, err := c.do(ctx, http.MethodGet, p, nil)
	if err != nil {
		return Page[T]{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Page[T]{}, c.apiError(resp)
	}
	var items []T
	if err := c.decode(resp, &items); err != nil {
		return Page[T]{}, err
	}
	total, err := strconv.Atoi(resp.Header.Get("X-Total-Count"))
	if err != nil {
		total = len(items)
	}
	return Page[T]{Items: items, Total: total, NextCursor: resp.Header.Get("X-Next-Cursor")}, nil
}

// AgentUsage is an agent of GET /v1/agents?usage=1: the registration, what
// its live tasks reserve and how many they are (as of the leader's latest
// pass).
type AgentUsage struct {
	cluster.Agent
	Used  *cluster.Resources `json:"used,omitempty"`
	Tasks *int               `json:"tasks,omitempty"`
}

// AgentsWithUsage is GET /v1/agents?usage=1, every page: the agents with
// their tasks counted by the server, so no task is read here.
func (c *Client) AgentsWithUsage(ctx context.Context) ([]AgentUsage, error) {
	return getAll[AgentUsage](ctx, c, "/v1/agents", url.Values{"usage": {"1"}})
}
