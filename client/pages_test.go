package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/cluster"
)

// TestTasksPagesThrough serves 1,234 tasks in pages of 500 with cursors,
// as the server does: Tasks returns them all, TasksPage one page.
func TestTasksPagesThrough(t *testing.T) {
	const n = 1234
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		from := 0
		if c := r.URL.Query().Get("cursor"); c != "" {
			from, _ = strconv.Atoi(c)
		}
		limit := 500
		if l := r.URL.Query().Get("limit"); l != "" {
			limit, _ = strconv.Atoi(l)
		}
		var page []cluster.Task
		for i := from; i < min(n, from+limit); i++ {
			page = append(page, cluster.Task{Assignment: cluster.Assignment{TaskID: fmt.Sprintf("t%04d", i), OwnerID: r.URL.Query().Get("app")}})
		}
		w.Header().Set("X-Total-Count", strconv.Itoa(n))
		if from+limit < n {
			w.Header().Set("X-Next-Cursor", strconv.Itoa(from+limit))
		}
		_ = json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := c.Tasks(context.Background(), "/web")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n || all[n-1].TaskID != "t1233" || all[0].OwnerID != "/web" || requests != 3 {
		t.Errorf("%d tasks in %d requests, last %q; want %d in 3", len(all), requests, all[len(all)-1].TaskID, n)
	}
	p, err := c.TasksPage(context.Background(), client.TaskQuery{App: "/web", Limit: 100, Cursor: "1200"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 34 || p.Total != n || p.NextCursor != "" {
		t.Errorf("last page: %d items, total %d, next %q", len(p.Items), p.Total, p.NextCursor)
	}
}
