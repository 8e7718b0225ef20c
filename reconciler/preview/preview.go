// Package preview renders templates before and after a change, for the
// pull-request review (berth diff): what nginx (or any rendered file) will
// look like once the change is carried out, as a unified diff. It renders
// with the real template engine (package templates, as agents do) against
// catalogs the caller gives: Berth's catalog of a cluster snapshot and of the
// cluster played forward (package catalog), or a live Consul catalog with the
// change's instances swapped in (Overlay). It reads no cluster itself, writes
// nothing and runs no command, unless asked to run each template's validate.
package preview

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/berthops/berth/catalog"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler/plan"
	"github.com/berthops/berth/templates"
)

// Cluster is the service catalog's source: the agents and tasks of a side.
type Cluster struct {
	Agents []cluster.Agent
	Tasks  []cluster.Task
}

// Options shape a preview.
type Options struct {
	// Wait bounds how long a template may wait for data the catalog lacks
	// (a KV key a snapshot does not carry); it is then shown as waiting.
	Wait time.Duration
	// Validate runs each rendered template's validate command on a
	// temporary copy ({{.}} or the destination replaced by the copy's path);
	// off by default: a PR's templates are not trusted to run commands.
	Validate bool
	// Datacenter and LocalNode are what {{ datacenter }} and node-local
	// functions see.
	Datacenter, LocalNode string
}

// Catalog is Berth's catalog of a cluster (catalog.Build): the services its
// running tasks publish, as templates read them without Consul.
func Catalog(c Cluster, o Options) *templates.CatalogData {
	dc := o.Datacenter
	if dc == "" {
		dc = "dc1"
	}
	return catalog.Build(c.Agents, c.Tasks, dc, o.LocalNode)
}

// Overlay is a live catalog (Consul's) with a change carried out: the
// instances Berth's tasks published before it and no longer do afterwards
// are removed, and the ones they publish afterwards are added. Berth names an
// instance the same in Consul and in its own catalog (cluster.TaskServices),
// so the rest of the live catalog (other services, nodes, keys) is kept as
// it is.
func Overlay(live, before, after *templates.CatalogData) *templates.CatalogData {
	out := *live
	gone := map[string]bool{}
	for _, in := range before.Instances {
		gone[in.ID] = true
	}
	for _, in := range after.Instances {
		delete(gone, in.ID)
	}
	out.Instances = nil
	have := map[string]bool{}
	for _, in := range live.Instances {
		if gone[in.ID] {
			continue
		}
		have[in.ID] = true
		out.Instances = append(out.Instances, in)
	}
	for _, in := range after.Instances {
		if !have[in.ID] {
			out.Instances = append(out.Instances, in)
		}
	}
	sort.SliceStable(out.Instances, func(i, j int) bool { return out.Instances[i].ID < out.Instances[j].ID })
	return &out
}

// Templates previews every template of before or after whose rendered file
// changes (its manifest changed, or the services it reads did): the file
// before and after as a unified diff, in template id order. beforeData and
// afterData are the catalogs each side renders against (Catalog, or a live
// Consul catalog and its Overlay).
func Templates(ctx context.Context, before, after *manifests.Set, beforeData, afterData *templates.CatalogData, o Options) []plan.TemplatePreview {
	if o.Wait <= 0 {
		o.Wait = 2 * time.Second
	}
	old := render(ctx, templatesOf(before), beforeData, o)
	neu := render(ctx, templatesOf(after), afterData, o)
	ids := map[string]bool{}
	for id := range old {
		ids[id] = true
	}
	for id := range neu {
		ids[id] = true
	}
	var out []plan.TemplatePreview
	for id := range ids {
		a, b := old[id], neu[id]
		if a.text == b.text && a.problem == b.problem {
			continue
		}
		p := plan.TemplatePreview{ID: id, Destination: b.dest, Before: a.text, After: b.text, Problem: b.problem, Validation: b.validation}
		if p.Destination == "" {
			p.Destination = a.dest
		}
		p.Diff, _ = difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(a.text), B: difflib.SplitLines(b.text),
			FromFile: p.Destination + " (before)", ToFile: p.Destination + " (after)", Context: 3,
		})
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func templatesOf(s *manifests.Set) []manifests.Template {
	if s == nil {
		return nil
	}
	return s.Templates
}

type rendered struct {
	dest, text, problem, validation string
}

// render renders every template once against the side's catalog.
func render(ctx context.Context, list []manifests.Template, data *templates.CatalogData, o Options) map[string]rendered {
	out := map[string]rendered{}
	if len(list) == 0 {
		return out
	}
	cat := &templates.MemoryCatalog{}
	if data != nil {
		cat.Update(func(d *templates.CatalogData) { *d = *data })
	}
	for _, t := range list {
		out[t.ID] = renderOne(ctx, t, cat, o)
	}
	return out
}

func renderOne(ctx context.Context, t manifests.Template, cat *templates.MemoryCatalog, o Options) rendered {
	spec := t
	spec.Command = "" // a preview never reloads anything
	validate := spec.Validate
	spec.Validate = ""
	var dry bytes.Buffer
	r, err := templates.NewRunner([]manifests.Template{spec}, templates.RunnerOptions{Source: templates.CatalogSource{Catalog: cat}, Dry: &dry})
	if err != nil {
		return rendered{dest: t.Destination, problem: err.Error()}
	}
	rctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	err = r.RunOnce(rctx)
	res := rendered{dest: t.Destination, text: strings.TrimPrefix(dry.String(), "> "+t.Destination+"\n")}
	if dry.Len() == 0 {
		res.text = ""
	}
	for _, s := range r.Status() {
		switch {
		case len(s.Waiting) > 0:
			res.problem = "waiting for " + strings.Join(s.Waiting, ", ") + " (not in the snapshot)"
		case s.Err != "":
			res.problem = s.Err
		}
	}
	if res.problem == "" && err != nil {
		res.problem = err.Error()
	}
	if o.Validate && validate != "" && res.problem == "" {
		res.validation = runValidate(ctx, validate, t.Destination, res.text)
	}
	return res
}

// runValidate checks a rendered file with the template's validate command
// on a temporary copy, as the runner does before it swaps a file in.
func runValidate(ctx context.Context, validate, dest, text string) string {
	dir, err := os.MkdirTemp("", "berth-preview-")
	if err != nil {
		return "not validated: " + err.Error()
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, filepath.Base(dest))
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		return "not validated: " + err.Error()
	}
	line := strings.ReplaceAll(strings.ReplaceAll(validate, "{{.}}", file), dest, file)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/bin/sh", "-c", line).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s failed: %v: %s", validate, err, strings.TrimSpace(string(out)))
	}
	return "valid (" + validate + ")"
}
