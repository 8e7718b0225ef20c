package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// TaskLogs copies a task's output (stdout and stderr merged) to w: the last
// tail lines ("all" or "" for everything), and with follow, new output until
// the task ends or ctx does.
func (c *Client) TaskLogs(ctx context.Context, taskID, tail string, follow bool, w io.Writer) error {
	q := url.Values{}
	if tail != "" {
		q.Set("tail", tail)
	}
	if follow {
		q.Set("follow", "true")
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/tasks/"+url.PathEscape(taskID)+"/logs?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.apiError(resp)
	}
	if _, err := io.Copy(w, resp.Body); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read the logs of %s: %w", taskID, err)
	}
	return nil
}
