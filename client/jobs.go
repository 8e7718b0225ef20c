package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler/decide"
)

// Jobs is GET /v1/jobs: every declared job as the scheduler saw it in its
// last pass (schedule, next occurrence, last run, success/error counts).
func (c *Client) Jobs(ctx context.Context) ([]decide.JobOutcome, error) {
	var jobs []decide.JobOutcome
	return jobs, c.get(ctx, "/v1/jobs", &jobs)
}

// JobRuns is GET /v1/jobs/{name}/runs: the job's recorded runs (at most
// reconciler.HistoryLimit), newest first. A job with no runs, or none by
// that name, has an empty history: the store cannot tell them apart.
func (c *Client) JobRuns(ctx context.Context, job string) ([]cluster.JobRun, error) {
	var runs []cluster.JobRun
	return runs, c.get(ctx, "/v1/jobs/"+url.PathEscape(job)+"/runs", &runs)
}

// RunJob is POST /v1/jobs/{name}/run: ask the leader to run job now,
// recorded with the manual trigger. It needs the token, and returns once
// the request is accepted; the run shows up in JobRuns after the next pass.
// NotFound(err) when the desired state declares no such job.
func (c *Client) RunJob(ctx context.Context, job string) error {
	resp, err := c.do(ctx, http.MethodPost, "/v1/jobs/"+url.PathEscape(job)+"/run", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return c.apiError(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	return nil
}
