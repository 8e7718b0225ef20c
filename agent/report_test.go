package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/docker/docker/client"

	"github.com/berthops/berth/agent/dockerrt"
	"github.com/berthops/berth/cluster"
)

// flakyCluster fails the first n status reports.
type flakyCluster struct {
	*fakeCluster
	failures int
}

func (f *flakyCluster) ReportStatus(ctx context.Context, st cluster.TaskStatus) error {
	if f.failures > 0 {
		f.failures--
		return errors.New("connection loss")
	}
	return f.fakeCluster.ReportStatus(ctx, st)
}

func TestReportRetries(t *testing.T) {
	for _, tt := range []struct {
		failures int
		want     int
	}{{0, 1}, {2, 1}, {reportAttempts, 0}} {
		fc := &flakyCluster{fakeCluster: newFakeCluster(), failures: tt.failures}
		ag, err := New(Config{Node: Node{ID: "n", Address: "127.0.0.2"}, Runtime: dockerrt.New((*client.Client)(nil), dockerrt.Options{}), Cluster: fc,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		newTask(ag, cluster.Assignment{TaskID: "t.1"}).report(context.Background(), cluster.TaskRunning, nil)
		if got := len(fc.states("t.1")); got != tt.want {
			t.Errorf("%d failures: %d reports stored, want %d", tt.failures, got, tt.want)
		}
	}
}
