package reconciler_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// TestJobFetchAndTimeoutOnRealCluster runs Chronos jobs through the whole
// path (Git, ZooKeeper, the decision engine, a real agent on Docker): one
// fetches an archive over HTTP and prints a file from it, one runs past its
// timeout, is killed, retried and finally counted failed.
func TestJobFetchAndTimeoutOnRealCluster(t *testing.T) {
	testenv.Integration(t)
	zk := testenv.StartZooKeeper(t, 1)
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	body := "rows=42\n"
	tw.WriteHeader(&tar.Header{Name: "etl/input.txt", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	gz.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/etl.tgz" {
			http.NotFound(w, r)
			return
		}
		w.Write(b.Bytes())
	}))
	defer srv.Close()

	// Generous: on a loaded Docker Engine a container start can take long.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := newJobsCluster(t, ctx, zk)
	defer cancel()
	once := "schedule: R1/" + iso(firstTick()) + "/PT1H\n"
	shell := "cpus: 0.1\nmem: 16\ncontainer: {type: DOCKER, image: " + testenv.ShellImage + "}\n"
	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{
		"jobs/etl.yaml": "kind: Job\nname: etl\ncommand: cat etl/input.txt\nretries: 0\n" + once + shell +
			"fetch: [{uri: \"" + srv.URL + "/etl.tgz\", extract: true}]\n",
		"jobs/slowpoke.yaml": "kind: Job\nname: slowpoke\ncommand: sleep 60\nretries: 1\ntimeout: PT1S\n" + once + shell,
	}, "jobs")
	c.serve("s1", c.open(zk.Addrs()[0]), repo.FileURL())

	c.waitFor("etl succeeded and slowpoke failed", func() bool {
		return c.ended("etl", cluster.JobRunSucceeded) == 1 && c.ended("slowpoke", cluster.JobRunFailed) == 1
	})
	etl := c.runs("etl")[0]
	if !strings.Contains(etl.OutputTail, "rows=42") {
		t.Errorf("etl printed %q, want the fetched file's content", etl.OutputTail)
	}
	slow := c.runs("slowpoke")[0]
	if slow.Attempt != 2 || !strings.Contains(slow.Message, "timeout of 1s") {
		t.Errorf("slowpoke: attempt %d, message %q; want its one retry used and the timeout named", slow.Attempt, slow.Message)
	}
}
