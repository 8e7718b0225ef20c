package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/berthops/berth/reconciler/wire"
)

// maxEvent bounds one Server-Sent Event; a status event carries every app,
// so it is allowed to be large, but a stream that never ends a line is not.
const maxEvent = 16 << 20

// Event is one Server-Sent Event.
type Event struct {
	// Name is the event's `event:` field, "message" when it has none.
	Name string
	// Data is its `data:` lines joined by newlines.
	Data string
	// ID is its `id:` field, if any.
	ID string
}

// ErrStop, returned by a callback of ReadEvents or Events, ends the stream
// without an error.
var ErrStop = errors.New("stop reading events")

// ReadEvents parses a text/event-stream (the WHATWG Server-Sent Events
// format) from r and calls fn for each event, in order, until r ends, fn
// returns an error (ErrStop ends it cleanly) or a line exceeds 16 MiB.
// Comments (": keepalive") and unknown fields are skipped; an event is
// dispatched at the blank line that ends it, and an unterminated last event
// is dropped as the specification says.
func ReadEvents(r io.Reader, fn func(Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEvent)
	var (
		ev      Event
		data    strings.Builder
		hasData bool
	)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			if hasData {
				ev.Data = data.String()
				if ev.Name == "" {
					ev.Name = "message"
				}
				if err := fn(ev); err != nil {
					if errors.Is(err, ErrStop) {
						return nil
					}
					return err
				}
			}
			ev, hasData = Event{}, false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			ev.Name = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				ev.ID = value
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read event stream: %w", err)
	}
	return nil
}

// Events follows GET /v1/events and calls fn with the reconciler's status:
// first the current one, then each one that differs (the server leaves out
// lastSync so that a pass that changed nothing sends nothing). It returns
// when ctx ends (with ctx's error), the server closes the stream (with an
// error saying so), or fn returns an error (nil for ErrStop).
func (c *Client) Events(ctx context.Context, fn func(wire.Status) error) error {
	return c.EventsOf(ctx, EventFilter{}, fn)
}

// EventFilter narrows an event stream, as GET /v1/events?app=&agent= does:
// a status then holds only those apps (an id, or a group ending in "/"
// that takes every app under it) and, with Agent, only the apps and jobs
// with tasks on that agent. The zero filter takes everything.
type EventFilter struct {
	Apps  []string
	Agent string
}

func (f EventFilter) query() string {
	q := url.Values{}
	for _, a := range f.Apps {
		q.Add("app", a)
	}
	if f.Agent != "" {
		q.Set("agent", f.Agent)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// EventsOf is Events narrowed by f: on a cluster of thousands of apps, a
// client that follows a few of them is sent only their changes.
func (c *Client) EventsOf(ctx context.Context, f EventFilter, fn func(wire.Status) error) error {
	resp, err := c.do(ctx, http.MethodGet, "/v1/events"+f.query(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.apiError(resp)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("GET %s: want a text/event-stream, the server sent %q", resp.Request.URL, ct)
	}
	stopped := false
	err = ReadEvents(resp.Body, func(ev Event) error {
		if ev.Name != "status" {
			return nil
		}
		var st wire.Status
		if err := json.Unmarshal([]byte(ev.Data), &st); err != nil {
			return fmt.Errorf("GET %s: decode status event: %w", resp.Request.URL, err)
		}
		if err := fn(st); err != nil {
			stopped = errors.Is(err, ErrStop)
			return err
		}
		return nil
	})
	switch {
	case stopped:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return err
	}
	return fmt.Errorf("GET %s: the server closed the event stream", resp.Request.URL)
}
