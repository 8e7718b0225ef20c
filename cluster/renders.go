package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Agents report how they render the templates placed on them: the leader
// publishes templates, each agent with --templates renders the ones its
// node selects, and the API shows what happened where.
const dirRenders = "/renders" // <agent>/<template> = TemplateRender, written by the agent

func rendersDir(agent string) string           { return join(dirRenders, nodeName(agent)) }
func renderPath(agent, template string) string { return join(rendersDir(agent), nodeName(template)) }

// TemplateRender is a template as the agent that renders it last handled
// it: where the file is, when it was last rendered and written, the last
// render, validate or reload failure, and a refusal by the agent's policy.
type TemplateRender struct {
	Template    string    `json:"template"`
	Agent       string    `json:"agent"`
	Destination string    `json:"destination"`
	Rendered    bool      `json:"rendered"`
	LastRender  time.Time `json:"lastRender,omitzero"`
	LastWrite   time.Time `json:"lastWrite,omitzero"`
	Writes      int       `json:"writes"`
	Waiting     []string  `json:"waiting,omitempty"`
	Error       string    `json:"error,omitempty"`
	SourceError string    `json:"sourceError,omitempty"`
	// Refused names the policy rule and flag when the agent does not render
	// the template (a destination outside --template-root), or does not run
	// its validate and command.
	Refused string `json:"refused,omitempty"`
}

// PutRenders replaces what agentID reports of its templates with renders:
// each is written, and the reports of templates not in it are removed.
func (st *State) PutRenders(ctx context.Context, agentID string, renders []TemplateRender) error {
	have, err := children(ctx, st.store, rendersDir(agentID))
	if err != nil {
		return fmt.Errorf("list renders of agent %s: %w", agentID, err)
	}
	keep := map[string]bool{}
	ops := make([]Op, 0, len(renders))
	for _, r := range renders {
		data, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("write render of template %s: %w", r.Template, err)
		}
		p := renderPath(agentID, r.Template)
		keep[p] = true
		ops = append(ops, Put(p, data))
	}
	for _, n := range have {
		if p := join(rendersDir(agentID), n); !keep[p] {
			ops = append(ops, Delete(p, AnyVersion))
		}
	}
	for _, b := range SplitBatches(ops, nil, 0) {
		if err := st.store.Multi(ctx, b...); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("write %d template renders of agent %s: %w", len(b), agentID, err)
		}
	}
	return nil
}

// Renders reads every agent's template renders, by agent then template.
func (st *State) Renders(ctx context.Context) ([]TemplateRender, error) {
	agents, err := children(ctx, st.store, dirRenders)
	if err != nil {
		return nil, fmt.Errorf("list renders: %w", err)
	}
	var out []TemplateRender
	for _, a := range agents {
		list, err := listJSON[TemplateRender](ctx, st.store, join(dirRenders, a))
		if err != nil {
			return nil, fmt.Errorf("read renders: %w", err)
		}
		for _, v := range list {
			out = append(out, v.Value)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Agent != out[j].Agent {
			return out[i].Agent < out[j].Agent
		}
		return out[i].Template < out[j].Template
	})
	return out, nil
}
