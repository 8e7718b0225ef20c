package httpapi

// Paged, filtered reads of lists that grow with the cluster: GET /v1/tasks
// (150,000 at the scale Berth is built for), and the page of every other
// list. A page is at most maxPageLimit items (defaultPageLimit when no
// ?limit= is given) and at most maxPageBytes of JSON; X-Total-Count says how
// many match in all, and X-Next-Cursor with a Link rel="next" header how to
// ask for the next page. Without ?limit=, ?cursor= or ?offset= a client gets
// the first page and the same headers, so an old client that knows nothing
// of pages still gets a bounded answer it can follow.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/taskindex"
)

const (
	// defaultPageLimit is a page's length when ?limit= is not given.
	defaultPageLimit = 500
	// maxPageBytes bounds a task page's JSON: a page closes early (and
	// says where the next starts) rather than pass it, whatever the tasks
	// carry (env, labels, health checks).
	maxPageBytes = 900 << 10
)

// taskQuery is GET /v1/tasks's parameters.
type taskQuery struct {
	filter taskindex.Filter
	limit  int
	after  cluster.TaskRef // from ?cursor=
	offset int             // ?offset=, the older way to page
}

func parseTaskQuery(q url.Values) (taskQuery, error) {
	tq := taskQuery{filter: taskindex.Filter{Owner: q.Get("app"), Agent: q.Get("agent"), Health: cluster.Health(q.Get("health"))}}
	if s := q.Get("state"); s != "" {
		tq.filter.States = map[cluster.TaskState]bool{}
		for st := range strings.SplitSeq(s, ",") {
			tq.filter.States[cluster.TaskState(strings.TrimSpace(st))] = true
		}
	}
	var err error
	if tq.limit, tq.offset, err = limitOffset(q); err != nil {
		return tq, err
	}
	if c := q.Get("cursor"); c != "" {
		if tq.after, err = decodeTaskCursor(c); err != nil {
			return tq, err
		}
	}
	return tq, nil
}

// limitOffset reads ?limit= (default defaultPageLimit, at most
// maxPageLimit) and ?offset=.
func limitOffset(q url.Values) (limit, offset int, err error) {
	num := func(name string, def, max int) (int, error) {
		s := q.Get(name)
		if s == "" {
			return def, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > max {
			return 0, fmt.Errorf("?%s=%q: want a whole number from 0 to %d", name, s, max)
		}
		return n, nil
	}
	if limit, err = num("limit", defaultPageLimit, maxPageLimit); err != nil {
		return 0, 0, err
	}
	offset, err = num("offset", 0, 1<<31-1)
	return limit, offset, err
}

// A task cursor is the last task of the page, opaque to clients: they pass
// back what X-Next-Cursor gave them.
const taskCursorPrefix = "t1\x00"

func encodeTaskCursor(r cluster.TaskRef) string {
	return base64.RawURLEncoding.EncodeToString([]byte(taskCursorPrefix + r.AgentID + "\x00" + r.TaskID))
}

func decodeTaskCursor(c string) (cluster.TaskRef, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	rest, ok := strings.CutPrefix(string(b), taskCursorPrefix)
	agent, task, ok2 := strings.Cut(rest, "\x00")
	if err != nil || !ok || !ok2 || agent == "" || task == "" {
		return cluster.TaskRef{}, fmt.Errorf("?cursor=%q: not a cursor of GET /v1/tasks (pass back X-Next-Cursor as given)", c)
	}
	return cluster.TaskRef{AgentID: agent, TaskID: task}, nil
}

// tasks is GET /v1/tasks. One agent's tasks are read from that agent's
// part of the store alone (the store keeps tasks by agent); every other
// read picks the page's tasks from the index (the leader's, so a follower
// forwards the request), one app's among that app's entries only, and reads
// just those from the store.
func (a *api) tasks(w http.ResponseWriter, req *http.Request) {
	tq, err := parseTaskQuery(req.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), storeReadTimeout)
	defer cancel()
	var (
		tasks []cluster.Task
		total int
		more  bool
	)
	switch {
	case tq.filter.Agent != "":
		tasks, total, more, err = a.agentTaskPage(ctx, tq)
	case a.o.Index.Ready():
		tasks, total, more, err = a.indexedTaskPage(ctx, tq)
	case a.o.Forward != nil && a.o.Forward(w, req):
		return // the leader, which has the index, answered
	default:
		// No pass on this replica yet: read everything, once.
		var all []cluster.Task
		if all, err = a.state.Tasks(ctx); err == nil {
			tasks, total, more = pageTasks(all, tq)
		}
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("read tasks: %v", err))
		return
	}
	writeTaskPage(w, req, cluster.WithoutSealed(tasks), total, more)
}

// pageTasks cuts tq's page out of tasks sorted by agent and task id.
func pageTasks(tasks []cluster.Task, tq taskQuery) (page []cluster.Task, total int, more bool) {
	skip := tq.offset
	for _, t := range tasks {
		if !tq.filter.Match(taskEntry(t)) {
			continue
		}
		total++
		if (tq.after != cluster.TaskRef{}) && taskindex.CompareRefs(ref(t), tq.after) <= 0 {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(page) < tq.limit {
			page = append(page, t)
		} else {
			more = true
		}
	}
	return page, total, more
}

func ref(t cluster.Task) cluster.TaskRef {
	return cluster.TaskRef{AgentID: t.AgentID, TaskID: t.TaskID}
}

// taskEntry is what a filter sees of a task read from the store.
func taskEntry(t cluster.Task) taskindex.Entry {
	st := t.Status.State
	if st == "" {
		st = cluster.TaskStaging
	}
	return taskindex.Entry{TaskRef: ref(t), Owner: t.OwnerID, State: st, Health: t.Status.Health, Kill: t.Kill}
}

func (a *api) agentTaskPage(ctx context.Context, tq taskQuery) ([]cluster.Task, int, bool, error) {
	all, err := a.state.AgentTasks(ctx, tq.filter.Agent)
	if err != nil {
		return nil, 0, false, err
	}
	page, total, more := pageTasks(all, tq)
	return page, total, more, nil
}

// indexedTaskPage selects the page's candidates from the index (one app's
// entries only, when filtered by app) and reads them (tasksByRef), so the
// page shows the tasks as they are now; the state and health filters are
// checked again on what was read. The total is the index's (as of the
// latest pass).
func (a *api) indexedTaskPage(ctx context.Context, tq taskQuery) ([]cluster.Task, int, bool, error) {
	// Candidates by identity only: a task's state may have changed since
	// the pass, so state and health are judged on the fresh read.
	byID := tq.filter
	byID.States, byID.Health = nil, ""
	total := a.o.Index.Count(tq.filter)
	var page []cluster.Task
	skip, after := tq.offset, tq.after
	if skip > 0 && tq.filter.States == nil && tq.filter.Health == "" {
		// Every candidate matches: skip them in the index, unread.
		ref, ok := a.o.Index.Skip(byID.Owner, after, skip)
		if !ok {
			return nil, total, false, nil
		}
		skip, after = 0, ref
	}
	for {
		cands := a.o.Index.Select(byID, after, max(tq.limit+1, 64))
		if len(cands) == 0 {
			return page, total, false, nil
		}
		refs := make([]cluster.TaskRef, len(cands))
		for i, e := range cands {
			refs[i] = e.TaskRef
		}
		after = refs[len(refs)-1]
		read, err := a.tasksByRef(ctx, refs)
		if err != nil {
			return nil, 0, false, err
		}
		for _, t := range read {
			if !tq.filter.Match(taskEntry(t)) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if len(page) == tq.limit {
				return page, total, true, nil
			}
			page = append(page, t)
		}
	}
}

// writeTaskPage writes a page of tasks as a JSON array (the answer's shape
// before pages existed), cut short before maxPageBytes, with the total and
// the next page's cursor and link.
func writeTaskPage(w http.ResponseWriter, req *http.Request, tasks []cluster.Task, total int, more bool) {
	var body bytes.Buffer
	body.WriteString("[")
	for i, t := range tasks {
		b, err := json.MarshalIndent(t, "  ", "  ")
		if err != nil {
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("encode task %s: %v", t.TaskID, err))
			return
		}
		if i > 0 && body.Len()+len(b)+8 > maxPageBytes {
			tasks, more = tasks[:i], true
			break
		}
		if i > 0 {
			body.WriteString(",")
		}
		body.WriteString("\n  ")
		body.Write(b)
	}
	if len(tasks) > 0 {
		body.WriteString("\n")
	}
	body.WriteString("]\n")
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	if more && len(tasks) > 0 {
		next := encodeTaskCursor(ref(tasks[len(tasks)-1]))
		setNext(w, req, next)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.Bytes())
}

// setNext sets X-Next-Cursor and a Link to the next page: the request's
// own query with the cursor replaced (and any offset dropped).
func setNext(w http.ResponseWriter, req *http.Request, cursor string) {
	q := req.URL.Query()
	q.Del("offset")
	q.Set("cursor", cursor)
	w.Header().Set("X-Next-Cursor", cursor)
	w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, req.URL.Path, q.Encode()))
}

// tasksByRef reads the tasks refs name, in that order, leaving out those
// whose assignment is gone: from the leader's cache when this replica leads
// with a fresh one (no store read), otherwise from the store.
func (a *api) tasksByRef(ctx context.Context, refs []cluster.TaskRef) ([]cluster.Task, error) {
	if m := a.cache(); m != nil {
		out := make([]cluster.Task, 0, len(refs))
		stale := false
		for _, r := range refs {
			t, ok, err := m.Task(r.AgentID, r.TaskID)
			if err != nil {
				stale = true // its watches were lost: read the store
				break
			}
			if ok {
				out = append(out, t)
			}
		}
		if !stale {
			return out, nil
		}
	}
	return a.state.TasksByRef(ctx, refs)
}
