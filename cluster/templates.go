package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/berthops/berth/manifests"
)

// dirTemplates holds the Template manifests the leader published for agents:
// <template id> = PublishedTemplate. The leader owns it; agents only read.
const dirTemplates = "/templates"

func templatePath(id string) string { return join(dirTemplates, nodeName(id)) }

// PublishedTemplate is a Template manifest as the leader publishes it for
// agents to render where its constraints place it. Contents are resolved
// (a manifest's source file is read at load), so agents never need the
// repository.
type PublishedTemplate struct {
	Template manifests.Template `json:"template"`
	// Origin is carried beside the template because manifests.Template does
	// not serialise it, and agents' errors must still name the file and line.
	Origin manifests.Origin `json:"origin"`
}

// Manifest returns the template with its origin restored.
func (p PublishedTemplate) Manifest() manifests.Template {
	t := p.Template
	t.Origin = p.Origin
	return t
}

// PublishTemplate returns the record the leader writes for t.
func PublishTemplate(t manifests.Template) PublishedTemplate {
	return PublishedTemplate{Template: t, Origin: t.Origin}
}

// PutTemplate publishes (or replaces) a template.
func (b *Batch) PutTemplate(p PublishedTemplate) { b.putJSON(templatePath(p.Template.ID), p) }

// DeleteTemplate withdraws a template that is no longer declared.
func (b *Batch) DeleteTemplate(id string) { b.delete(templatePath(id), AnyVersion) }

// Templates reads the published templates, sorted by id.
func (st *State) Templates(ctx context.Context) ([]PublishedTemplate, error) {
	list, err := listJSON[PublishedTemplate](ctx, st.store, dirTemplates)
	if err != nil {
		return nil, fmt.Errorf("read published templates: %w", err)
	}
	return sortedTemplates(list), nil
}

func sortedTemplates(list []Versioned[PublishedTemplate]) []PublishedTemplate {
	out := make([]PublishedTemplate, len(list))
	for i, v := range list {
		out[i] = v.Value
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Template.ID < out[j].Template.ID })
	return out
}

// WatchTemplates sends the full set of published templates now and after
// every change, until ctx is done; the channel is then closed. As with
// WatchAssignments, a slow reader only ever misses intermediate sets. Read
// errors are reported on errs and retried after the next change or a
// second.
func (st *State) WatchTemplates(ctx context.Context, errs func(error)) <-chan []PublishedTemplate {
	out := make(chan []PublishedTemplate, 1)
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			wctx, cancel := context.WithCancel(ctx)
			changed, list, err := st.watchTemplatesOnce(wctx)
			if err == nil {
				select {
				case <-out:
				default:
				}
				out <- sortedTemplates(list)
			} else {
				if errs != nil && ctx.Err() == nil {
					errs(fmt.Errorf("watch published templates: %w", err))
				}
				changed = nil
			}
			more := waitChange(ctx, changed)
			cancel()
			if !more {
				return
			}
		}
	}()
	return out
}

// watchTemplatesOnce watches the directory (which may not exist yet: the
// watch then fires when the leader first publishes) and every template in
// it, then reads them; watching first means no change is missed.
func (st *State) watchTemplatesOnce(ctx context.Context) (<-chan Event, []Versioned[PublishedTemplate], error) {
	dirWatch, err := st.store.Watch(ctx, dirTemplates)
	if err != nil {
		return nil, nil, err
	}
	names, err := children(ctx, st.store, dirTemplates)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", dirTemplates, err)
	}
	chans := []<-chan Event{dirWatch}
	list := make([]Versioned[PublishedTemplate], 0, len(names))
	for _, n := range names {
		p := join(dirTemplates, n)
		ch, err := st.store.Watch(ctx, p)
		if err != nil {
			return nil, nil, err
		}
		chans = append(chans, ch)
		var t PublishedTemplate
		ver, err := getJSON(ctx, st.store, p, &t)
		if errors.Is(err, ErrNotFound) {
			continue // deleted while listing: its watch has fired
		}
		if err != nil {
			return nil, nil, err
		}
		list = append(list, Versioned[PublishedTemplate]{Value: t, Version: ver})
	}
	return firstOf(ctx, chans), list, nil
}
