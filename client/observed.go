package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Observed is GET /v1/observed: the live state as `berth diff --observed`
// reads it (docs/diff-json.md), raw, with the commit the cluster is
// converged to. The caller decodes it with plan.ReadObserved, which names
// the position of anything malformed.
func (c *Client) Observed(ctx context.Context) (data []byte, commit string, err error) {
	resp, err := c.do(ctx, http.MethodGet, "/v1/observed", nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", c.apiError(resp)
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, "", fmt.Errorf("GET /v1/observed: %w", err)
	}
	return data, resp.Header.Get("X-Berth-Commit"), nil
}
