package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthops/berth/reconciler"
)

// events streams the reconciler's status as Server-Sent Events, one
// `status` event after every pass that changed it (as the stream's filter
// sees it). A pass costs a stream a comparison of what it shows with what
// it last sent, not an encoding of the whole status: at 150,000 tasks
// (1,500 apps) and the 100 streams a replica serves, encoding every
// status for every stream was most of an idle pass's cost. ?app= and
// ?agent= narrow the stream to some apps (eventFilter).
func (a *api) events(w http.ResponseWriter, req *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	filter, err := a.parseEventFilter(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	select {
	case a.streams <- struct{}{}:
		defer func() { <-a.streams }()
	default:
		writeError(w, http.StatusServiceUnavailable, "too many event streams open; try again later")
		return
	}
	// The server's write timeout is for ordinary answers; a stream lives
	// as long as its client reads it, and each write gets its own deadline
	// so a client that stops reading does not hold the stream forever.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	extend := func() { _ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)) }
	extend()
	ch := make(chan reconciler.Status, 16)
	cancel := a.r.Subscribe(ch)
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	summary := req.URL.Query().Get("summary") == "1"
	var last any
	send := func(st reconciler.Status) {
		st.LastSync = time.Time{} // only changes of substance are events
		st = filter.apply(req.Context(), st)
		var view any = st
		if summary {
			view = summarize(req, st)
		}
		if last != nil && sameView(last, view) {
			return
		}
		last = view
		var b []byte
		if filter.on() {
			b, _ = json.Marshal(view)
		} else {
			b = a.encoded.get(view) // every unfiltered stream sends the same
		}
		extend()
		// Three writes: formatting would copy the document once more.
		_, _ = io.WriteString(w, "event: status\ndata: ")
		_, _ = w.Write(b)
		_, _ = io.WriteString(w, "\n\n")
		fl.Flush()
	}
	send(a.r.Status())
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-req.Context().Done():
			return
		case st := <-ch:
			send(st)
		case <-keepalive.C:
			extend()
			fmt.Fprint(w, ": keepalive\n\n")
			fl.Flush()
		}
	}
}

// eventFilter narrows a status to some apps: those ?app= names (an app id,
// or a group: an id ending in "/" takes every app under it; repeat ?app=
// or separate with commas) and those with tasks on ?agent= (looked up in
// the leader's task index, or that agent's part of the store while the
// index is not built). A filtered status keeps the commit and pass fields,
// and of the jobs only those running on the agent (none with ?app= alone).
type eventFilter struct {
	apps  []string
	agent string
	a     *api
}

func (a *api) parseEventFilter(req *http.Request) (eventFilter, error) {
	q := req.URL.Query()
	f := eventFilter{agent: q.Get("agent"), a: a}
	for _, v := range q["app"] {
		for id := range strings.SplitSeq(v, ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if !strings.HasPrefix(id, "/") {
				return f, fmt.Errorf("?app=%q: want an app id or group starting with /", id)
			}
			f.apps = append(f.apps, id)
		}
	}
	return f, nil
}

func (f eventFilter) on() bool { return len(f.apps) > 0 || f.agent != "" }

func (f eventFilter) matchApp(id string) bool {
	if len(f.apps) == 0 {
		return true
	}
	for _, want := range f.apps {
		if id == want || (strings.HasSuffix(want, "/") && strings.HasPrefix(id, want)) {
			return true
		}
	}
	return false
}

// apply returns st as the filter shows it; st's own slices are not
// changed (they are shared with every other stream).
func (f eventFilter) apply(ctx context.Context, st reconciler.Status) reconciler.Status {
	if !f.on() {
		return st
	}
	var owners map[string]bool
	if f.agent != "" {
		owners = f.ownersOn(ctx)
	}
	keep := func(id string) bool { return f.matchApp(id) && (owners == nil || owners[id]) }
	apps := make([]reconciler.AppStatus, 0, 8)
	for _, app := range st.Apps {
		if keep(app.ID) {
			apps = append(apps, app)
		}
	}
	st.Apps = apps
	var orphans []string
	for _, o := range st.Orphans {
		if keep(o) {
			orphans = append(orphans, o)
		}
	}
	st.Orphans = orphans
	var jobs = st.Jobs[:0:0]
	if owners != nil && len(f.apps) == 0 {
		for _, j := range st.Jobs {
			if owners[j.Name] {
				jobs = append(jobs, j)
			}
		}
	}
	st.Jobs = jobs
	return st
}

// ownersOn is the owners (apps, jobs) of the tasks on the filter's agent.
func (f eventFilter) ownersOn(ctx context.Context) map[string]bool {
	owners := map[string]bool{}
	if f.a.o.Index.Ready() {
		for _, o := range f.a.o.Index.OwnersOn(f.agent) {
			owners[o] = true
		}
		return owners
	}
	ctx, cancel := context.WithTimeout(ctx, storeReadTimeout)
	defer cancel()
	tasks, err := f.a.state.AgentTasks(ctx, f.agent)
	if err != nil {
		f.a.o.Logger.Warn("event stream: read the agent's tasks", "agent", f.agent, "err", err)
	}
	for _, t := range tasks {
		owners[t.OwnerID] = true
	}
	return owners
}

// sameView reports whether two events' documents (a status or its
// summary) are the same, without encoding them.
func sameView(a, b any) bool {
	sa, okA := a.(reconciler.Status)
	sb, okB := b.(reconciler.Status)
	if okA && okB {
		return sameStatus(sa, sb)
	}
	return reflect.DeepEqual(a, b) // summaries: a few counts
}

// sameStatus reports whether two statuses (LastSync cleared) would be the
// same event, without encoding them.
func sameStatus(a, b reconciler.Status) bool {
	ra, rb := a.Rejected, b.Rejected
	a.Rejected, b.Rejected = nil, nil
	aApps, bApps, aJobs, bJobs, aOrph, bOrph := a.Apps, b.Apps, a.Jobs, b.Jobs, a.Orphans, b.Orphans
	a.Apps, b.Apps, a.Jobs, b.Jobs, a.Orphans, b.Orphans = nil, nil, nil, nil, nil, nil
	return reflect.DeepEqual(a, b) && reflect.DeepEqual(ra, rb) && slices.Equal(aApps, bApps) &&
		slices.Equal(aOrph, bOrph) && reflect.DeepEqual(aJobs, bJobs)
}

// sharedEncoding is the JSON of the last status (or summary) an
// unfiltered stream sent: the next stream with the same document reuses
// it, so a pass costs one encoding however many streams are open.
type sharedEncoding struct {
	mu   sync.Mutex
	last [2]struct {
		view any
		b    []byte
	} // [0] statuses, [1] summaries
}

func (e *sharedEncoding) get(view any) []byte {
	i := 0
	if _, ok := view.(reconciler.Status); !ok {
		i = 1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := &e.last[i]; c.view != nil && sameView(c.view, view) {
		return c.b
	}
	b, _ := json.Marshal(view)
	e.last[i].view, e.last[i].b = view, b
	return b
}
