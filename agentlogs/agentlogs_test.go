package agentlogs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthops/berth/agent/launch"
	"github.com/berthops/berth/cluster"
)

func TestHandlerAndClient(t *testing.T) {
	var got launch.LogOptions
	src := func(ctx context.Context, taskID string, opts launch.LogOptions, stdout, stderr io.Writer) error {
		if taskID != "web.1" {
			return launch.ErrNoTask
		}
		got = opts
		fmt.Fprintln(stdout, "out line")
		fmt.Fprintln(stderr, "err line")
		return nil
	}
	key := Key("base-secret", "a1")
	if key == Key("base-secret", "a2") || key == Key("other", "a1") {
		t.Fatal("keys of different agents or bases are equal")
	}
	srv := httptest.NewServer(Handler(src, key))
	defer srv.Close()
	ag := cluster.Agent{ID: "a1", LogsAddress: strings.TrimPrefix(srv.URL, "http://")}

	c := &Client{Key: func(id string) (string, error) { return Key("base-secret", id), nil }}
	var out bytes.Buffer
	if err := c.Logs(context.Background(), ag, "web.1", launch.LogOptions{Tail: "5", Follow: true}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out line\nerr line\n" || got != (launch.LogOptions{Tail: "5", Follow: true}) {
		t.Errorf("got %q with %+v", out.String(), got)
	}
	if err := c.Logs(context.Background(), ag, "gone.1", launch.LogOptions{}, &out); !errors.Is(err, launch.ErrNoTask) {
		t.Errorf("unknown task: %v, want ErrNoTask", err)
	}
	if err := c.Logs(context.Background(), cluster.Agent{ID: "a1"}, "web.1", launch.LogOptions{}, &out); !errors.Is(err, ErrNoLogs) {
		t.Errorf("agent without logs address: %v", err)
	}
	wrong := &Client{Key: func(id string) (string, error) { return Key("guess", id), nil }}
	if err := wrong.Logs(context.Background(), ag, "web.1", launch.LogOptions{}, &out); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong key: %v, want 401", err)
	}
	resp, err := http.Get(srv.URL + "/v1/tasks/web.1/logs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no key: %d", resp.StatusCode)
	}
	// An empty key opens nothing.
	open := httptest.NewServer(Handler(src, ""))
	defer open.Close()
	if resp, err := http.Get(open.URL + "/v1/tasks/web.1/logs"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("empty key served logs: %d", resp.StatusCode)
		}
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("10", "true")
	f.Add("all", "")
	f.Add("-1", "maybe")
	f.Fuzz(func(t *testing.T, tail, follow string) {
		q := map[string][]string{"tail": {tail}, "follow": {follow}}
		opts, err := ParseOptions(q)
		if err != nil {
			return
		}
		back, err := ParseOptions(Query(opts))
		if err != nil || back != opts {
			t.Fatalf("%+v does not round-trip: %+v %v", opts, back, err)
		}
	})
}
