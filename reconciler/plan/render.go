package plan

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Header says what a plan compares, for its rendered forms.
type Header struct {
	Base Revision `json:"base"`
	Head Revision `json:"head"`
	// Path is the manifest root inside the repository, empty for the root.
	Path string `json:"path,omitempty"`
}

// Revision names one side of a comparison: a ref and the commit it resolved
// to, or (for live state) a description such as "observed: state.json".
type Revision struct {
	Ref    string `json:"ref,omitempty"`
	Commit string `json:"commit,omitempty"`
	// Signature is the commit's signature state; nil when it was not
	// looked at (live state has no commit to sign).
	Signature *Signature `json:"signature,omitempty"`
}

// Signature is what a commit's signature says (docs/diff-json.md): a
// reviewer sees whether a server that applies only signed commits would
// take it.
type Signature struct {
	// State is "unsigned", "good", "bad" (it does not match the commit),
	// "untrusted" (not by a trusted key) or "unchecked" (signed, and no
	// trusted keys were given to check it).
	State string `json:"state"`
	// Format is "openpgp" or "ssh"; absent for an unsigned commit.
	Format string `json:"format,omitempty"`
	// Key is the OpenPGP fingerprint (or key id) or SSH SHA256 fingerprint.
	Key string `json:"key,omitempty"`
	// Signer names a trusted key's owner: OpenPGP user id or SSH principals.
	Signer string `json:"signer,omitempty"`
	// Reason says why a signature is bad.
	Reason string `json:"reason,omitempty"`
}

func (s Signature) String() string {
	key := s.Key
	if key == "" {
		key = "an unknown key"
	}
	switch s.State {
	case "good":
		if s.Signer != "" {
			return fmt.Sprintf("good %s signature by %s (%s)", s.Format, key, s.Signer)
		}
		return fmt.Sprintf("good %s signature by %s", s.Format, key)
	case "bad":
		return fmt.Sprintf("BAD %s signature by %s: %s", s.Format, key, s.Reason)
	case "untrusted":
		return fmt.Sprintf("%s signature by an untrusted key %s", s.Format, key)
	case "unchecked":
		return fmt.Sprintf("%s signature by %s (not checked: no --trusted-keys)", s.Format, key)
	}
	return s.State
}

// signatureLine says both sides' signature states, or "" when neither
// was looked at.
func signatureLine(h Header) string {
	var parts []string
	for _, side := range []struct {
		name string
		rev  Revision
	}{{"base", h.Base}, {"head", h.Head}} {
		if side.rev.Signature != nil {
			parts = append(parts, side.name+" "+side.rev.Signature.String())
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Signatures: " + strings.Join(parts, "; ")
}

func (r Revision) String() string {
	switch {
	case r.Commit == "":
		return r.Ref
	case r.Ref == "" || r.Ref == r.Commit:
		return short(r.Commit)
	}
	return r.Ref + " (" + short(r.Commit) + ")"
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// jsonPlan is the documented JSON form (docs/diff-json.md). It is its own type
// so the Go structs can evolve without changing the schema by accident.
type jsonPlan struct {
	SchemaVersion int      `json:"schemaVersion"`
	Base          Revision `json:"base"`
	Head          Revision `json:"head"`
	Path          string   `json:"path,omitempty"`
	Summary       Summary  `json:"summary"`
	Changes       []Change `json:"changes"`
	Fit           *Fit     `json:"fit,omitempty"`
	// Templates are the rendered files that change (a template preview).
	Templates []TemplatePreview `json:"templates,omitempty"`
}

// WriteJSON writes p in the stable JSON schema, indented, ending in a newline.
func WriteJSON(w io.Writer, p *Plan, h Header) error {
	if p == nil {
		p = &Plan{}
	}
	changes := p.Changes
	if changes == nil {
		changes = []Change{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	err := enc.Encode(jsonPlan{
		SchemaVersion: SchemaVersion,
		Base:          h.Base,
		Head:          h.Head,
		Path:          h.Path,
		Summary:       p.Summary(),
		Changes:       changes,
		Fit:           p.Fit,
		Templates:     p.Templates,
	})
	if err != nil {
		return fmt.Errorf("write plan as JSON: %w", err)
	}
	return nil
}

// summaryLine is the one-line count every format opens with.
func summaryLine(s Summary) string {
	if s.Create+s.Update+s.Delete == 0 {
		return fmt.Sprintf("No changes. %d unchanged.", s.Unchanged)
	}
	var parts []string
	if s.Update > 0 {
		var kinds []string
		for _, k := range []struct {
			n    int
			name string
		}{{s.Scale, "scale"}, {s.Restart, "restart"}, {s.Config, "config"}} {
			if k.n > 0 {
				kinds = append(kinds, fmt.Sprintf("%d %s", k.n, k.name))
			}
		}
		parts = append(parts, fmt.Sprintf("%d to update (%s)", s.Update, strings.Join(kinds, ", ")))
	}
	parts = append([]string{fmt.Sprintf("%d to create", s.Create)}, parts...)
	if s.Update == 0 {
		parts = append(parts, "0 to update")
	}
	parts = append(parts, fmt.Sprintf("%d to delete", s.Delete), fmt.Sprintf("%d unchanged", s.Unchanged))
	return "Plan: " + strings.Join(parts, ", ") + "."
}

func originString(c Change) string {
	if c.Origin.File == "" {
		return ""
	}
	if c.Origin.Line == 0 {
		return c.Origin.File
	}
	return c.Origin.File + ":" + strconv.Itoa(c.Origin.Line)
}

func actionSign(a Action) string {
	switch a {
	case ActionCreate:
		return "+"
	case ActionDelete:
		return "-"
	}
	return "~"
}

// TextOptions controls the text form.
type TextOptions struct {
	// Color adds ANSI colours, as git diff does on a terminal.
	Color bool
}

const (
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBold   = "\x1b[1m"
	ansiReset  = "\x1b[0m"
)

// WriteText writes p for a terminal or a CI log: one block per change, in
// step order, with a line per differing field.
func WriteText(w io.Writer, p *Plan, h Header, opts TextOptions) error {
	if p == nil {
		p = &Plan{}
	}
	paint := func(code, s string) string {
		if !opts.Color {
			return s
		}
		return code + s + ansiReset
	}
	colorOf := func(a Action) string {
		switch a {
		case ActionCreate:
			return ansiGreen
		case ActionDelete:
			return ansiRed
		}
		return ansiYellow
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", paint(ansiBold, "berth diff "+h.Base.String()+" -> "+h.Head.String()+pathSuffix(h.Path)))
	if line := signatureLine(h); line != "" {
		fmt.Fprintf(&b, "%s\n", line)
	}
	fmt.Fprintf(&b, "%s\n", summaryLine(p.Summary()))
	step := 0
	for _, c := range p.Changes {
		if c.Step != step {
			step = c.Step
			fmt.Fprintf(&b, "\n%s\n", paint(ansiBold, fmt.Sprintf("step %d", step)))
		}
		head := fmt.Sprintf("%s %s %s %s", actionSign(c.Action), c.Action, c.Kind, c.ID)
		if c.Update != "" {
			head += " (" + string(c.Update) + ")"
		}
		if o := originString(c); o != "" {
			head += "  " + o
		}
		fmt.Fprintf(&b, "%s\n", paint(colorOf(c.Action), head))
		if c.Running != nil {
			fmt.Fprintf(&b, "    running: %d\n", *c.Running)
		}
		for _, f := range c.Fields {
			fmt.Fprintf(&b, "    %s\n", paint(colorOf(c.Action), fieldLine(c.Action, f)))
		}
		writeScheduleText(&b, c.SchedulePreview, paint)
	}
	writeFitText(&b, p.Fit)
	writeTemplatesText(&b, p.Templates)
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write plan as text: %w", err)
	}
	return nil
}

func pathSuffix(p string) string {
	if p == "" || p == "." {
		return ""
	}
	return " (path " + p + ")"
}

func fieldLine(a Action, f FieldChange) string {
	switch {
	case a == ActionCreate || f.From == nil:
		return "+ " + f.Path + ": " + string(f.To)
	case a == ActionDelete || f.To == nil:
		return "- " + f.Path + ": " + string(f.From)
	}
	return "~ " + f.Path + ": " + string(f.From) + " -> " + string(f.To)
}

func writeFitText(b *strings.Builder, f *Fit) {
	if f == nil {
		return
	}
	verdict := "fits"
	if !f.Fits {
		verdict = "does NOT fit"
	}
	fmt.Fprintf(b, "\nCapacity: %s (needed: %s; free: %s)\n", verdict, resString(f.Needed), resString(f.Free))
	for _, u := range groupUnplaced(f.Unplaced) {
		fmt.Fprintf(b, "    cannot place %s %s%s: %s\n", u.Kind, u.ID, u.instances(), u.Reason)
	}
	if len(f.Blast) > 0 {
		fmt.Fprintf(b, "\nBlast radius:\n")
		for _, a := range f.Blast {
			fmt.Fprintf(b, "    %s\n", blastLine(a))
		}
	}
}

// resString prints amounts as people write them: sums of float shares are
// rounded to a thousandth (1.9, not 1.9000000000000006).
func resString(r Resources) string {
	round := func(f float64) float64 { return math.Round(f*1000) / 1000 }
	return fmt.Sprintf("cpus %g, mem %g MiB, disk %g MiB", round(r.CPUs), round(r.Mem), round(r.Disk))
}

// unplacedGroup is a run of instances of one object that cannot be placed
// for one reason: a plan that cannot place 100 instances says so once.
type unplacedGroup struct {
	UnplacedInstance
	last int
}

// instances names the run (" instances 1-10"), or nothing for an object
// that cannot be decided at all (instance 0).
func (g unplacedGroup) instances() string {
	switch {
	case g.Instance == 0:
		return ""
	case g.last > g.Instance:
		return fmt.Sprintf(" instances %d-%d", g.Instance, g.last)
	}
	return fmt.Sprintf(" instance %d", g.Instance)
}

func groupUnplaced(list []UnplacedInstance) []unplacedGroup {
	var out []unplacedGroup
	for _, u := range list {
		if n := len(out); n > 0 {
			g := &out[n-1]
			if g.Kind == u.Kind && g.ID == u.ID && g.Reason == u.Reason && u.Instance == g.last+1 {
				g.last = u.Instance
				continue
			}
		}
		out = append(out, unplacedGroup{UnplacedInstance: u, last: u.Instance})
	}
	return out
}

// MarkdownLimit is the size WriteMarkdown keeps a comment under: GitHub
// refuses comments over 65,536 characters, and a plan that touches thousands of
// objects would exceed it. What does not fit is counted, not silently lost.
const MarkdownLimit = 60000

// maxMarkdownValue caps one value in the Markdown form (a template's
// contents can be long); the text and JSON forms always carry it whole.
const maxMarkdownValue = 1000

// WriteMarkdown writes p as a pull-request comment: a heading, the summary,
// a table of every change, and one collapsible section per change with its
// fields. Values are HTML-escaped so nothing in a manifest can break the
// comment's layout. The comment stays under MarkdownLimit bytes: table rows,
// then sections, are left out past it, with a note saying how many.
func WriteMarkdown(w io.Writer, p *Plan, h Header) error {
	if p == nil {
		p = &Plan{}
	}
	var head, fit strings.Builder
	fmt.Fprintf(&head, "### Berth plan: %s &rarr; %s%s\n\n", code(h.Base.String()), code(h.Head.String()), html.EscapeString(pathSuffix(h.Path)))
	if line := signatureLine(h); line != "" {
		fmt.Fprintf(&head, "%s\n\n", html.EscapeString(line))
	}
	fmt.Fprintf(&head, "**%s**\n", summaryLine(p.Summary()))
	head.WriteString(scheduleWarningsMarkdown(p))
	if f := p.Fit; f != nil {
		verdict := "fits"
		if !f.Fits {
			verdict = "**does not fit**"
		}
		fmt.Fprintf(&fit, "\nCapacity: %s (needed %s; free %s)\n", verdict, html.EscapeString(resString(f.Needed)), html.EscapeString(resString(f.Free)))
		groups := groupUnplaced(f.Unplaced)
		for i, u := range groups {
			if i == 50 {
				fmt.Fprintf(&fit, "- and %d more groups of instances that cannot be placed\n", len(groups)-i)
				break
			}
			fmt.Fprintf(&fit, "- cannot place %s %s%s: %s\n", u.Kind, code(u.ID), u.instances(), html.EscapeString(u.Reason))
		}
		if len(f.Blast) > 0 {
			fmt.Fprintf(&fit, "\n**Blast radius**\n\n")
			for i, a := range f.Blast {
				if i == 50 {
					fmt.Fprintf(&fit, "- and %d more apps\n", len(f.Blast)-i)
					break
				}
				fmt.Fprintf(&fit, "- %s: %s\n", code(a.ID), html.EscapeString(strings.TrimPrefix(blastLine(a), a.ID+": ")))
			}
		}
	}
	// Room for the two notes that may follow the table and the sections.
	const noteRoom = 400
	budget := MarkdownLimit - head.Len() - fit.Len() - noteRoom

	var table, details strings.Builder
	rows := 0
	if len(p.Changes) > 0 {
		table.WriteString("\n| step | action | kind | id | update | declared in |\n|---:|---|---|---|---|---|\n")
		for _, c := range p.Changes {
			row := fmt.Sprintf("| %d | %s | %s | %s | %s | %s |\n", c.Step, c.Action, c.Kind, code(clip(c.ID)), c.Update, code(clip(originString(c))))
			if table.Len()+len(row) > budget {
				break
			}
			table.WriteString(row)
			rows++
		}
		if rows < len(p.Changes) {
			fmt.Fprintf(&table, "\n_%d more changes are not listed, to keep this comment under GitHub's size limit: run `berth diff` with `--format text` or `--format json` for all of them._\n", len(p.Changes)-rows)
		}
	}
	budget -= table.Len()
	sections := 0
	for _, c := range p.Changes[:rows] {
		var sec strings.Builder
		title := fmt.Sprintf("<b>%s</b> %s %s", c.Action, c.Kind, code(clip(c.ID)))
		if c.Update != "" {
			title += " (" + string(c.Update) + ")"
		}
		fmt.Fprintf(&sec, "\n<details><summary>%s</summary>\n\n", title)
		if c.Running != nil {
			fmt.Fprintf(&sec, "Running now: %d\n\n", *c.Running)
		}
		sec.WriteString("| field | from | to |\n|---|---|---|\n")
		for _, f := range c.Fields {
			fmt.Fprintf(&sec, "| %s | %s | %s |\n", code(clip(f.Path)), code(clip(string(f.From))), code(clip(string(f.To))))
		}
		writeScheduleMarkdown(&sec, c.SchedulePreview)
		sec.WriteString("\n</details>\n")
		if details.Len()+sec.Len() > budget {
			break
		}
		details.WriteString(sec.String())
		sections++
	}
	if sections < rows {
		fmt.Fprintf(&details, "\n_The fields of %d more changes are left out, to keep this comment under GitHub's size limit._\n", rows-sections)
	}
	out := head.String() + table.String() + details.String() + fit.String()
	out += templatesMarkdown(p.Templates, MarkdownLimit-len(out))
	if _, err := io.WriteString(w, out); err != nil {
		return fmt.Errorf("write plan as Markdown: %w", err)
	}
	return nil
}

// clip shortens a value for the Markdown form, saying how long it was.
func clip(s string) string {
	if len(s) <= maxMarkdownValue {
		return s
	}
	cut := maxMarkdownValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes in all)", s[:cut], len(s))
}

// code renders s as inline code that survives a Markdown table: <code> with
// HTML escaping, and the pipe escaped so it cannot end a cell.
func code(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "|", "&#124;").Replace(s)
	s = strings.ReplaceAll(s, "\n", " ")
	return "<code>" + s + "</code>"
}

// blastLine says in one line what a change does to an app.
func blastLine(a AppBlast) string {
	parts := []string{fmt.Sprintf("%d started, %d stopped", a.Started, a.Stopped)}
	if a.Restarted > 0 {
		parts = append(parts, fmt.Sprintf("%d restarted", a.Restarted))
	}
	parts = append(parts, fmt.Sprintf("at least %d of %d healthy throughout", a.MinHealthy, a.Instances))
	ports := func(kind string, list []PortChange) {
		for _, p := range list {
			parts = append(parts, fmt.Sprintf("%s port[%d] %s -> %s", kind, p.Index, portString(p.From), portString(p.To)))
		}
	}
	ports("service", a.ServicePorts)
	ports("host", a.HostPorts)
	if len(a.Services) > 0 {
		parts = append(parts, "instances change in "+strings.Join(a.Services, ", "))
	}
	return a.ID + ": " + strings.Join(parts, "; ")
}

func portString(p int) string {
	if p == 0 {
		return "none"
	}
	return fmt.Sprint(p)
}

// writeTemplatesText shows each rendered file that changes, as a unified
// diff, with its problem or validation verdict.
func writeTemplatesText(b *strings.Builder, list []TemplatePreview) {
	for _, t := range list {
		fmt.Fprintf(b, "\nTemplate %s (%s):\n", t.ID, t.Destination)
		if t.Problem != "" {
			fmt.Fprintf(b, "    cannot render: %s\n", t.Problem)
		}
		if t.Validation != "" {
			fmt.Fprintf(b, "    %s\n", t.Validation)
		}
		for _, line := range strings.Split(strings.TrimRight(t.Diff, "\n"), "\n") {
			if line != "" {
				fmt.Fprintf(b, "    %s\n", line)
			}
		}
	}
}

// templatesMarkdown shows each rendered file that changes as a diff block
// in a collapsible section, within budget bytes (the rest is counted).
func templatesMarkdown(list []TemplatePreview, budget int) string {
	var b strings.Builder
	for i, t := range list {
		var sec strings.Builder
		fmt.Fprintf(&sec, "\n<details><summary>Template %s renders %s differently</summary>\n\n", code(t.ID), code(t.Destination))
		if t.Problem != "" {
			fmt.Fprintf(&sec, "Cannot render: %s\n\n", html.EscapeString(t.Problem))
		}
		if t.Validation != "" {
			fmt.Fprintf(&sec, "%s\n\n", html.EscapeString(t.Validation))
		}
		fmt.Fprintf(&sec, "```diff\n%s```\n</details>\n", strings.ReplaceAll(clipDiff(t.Diff), "```", "'''"))
		if b.Len()+sec.Len() > budget-200 {
			fmt.Fprintf(&b, "\n_%d more changed template files are left out, to keep this comment under GitHub's size limit._\n", len(list)-i)
			break
		}
		b.WriteString(sec.String())
	}
	return b.String()
}

// clipDiff keeps a diff in the Markdown form under 8 KiB.
func clipDiff(d string) string {
	const limit = 8 << 10
	if len(d) <= limit {
		return d
	}
	cut := strings.LastIndexByte(d[:limit], '\n') + 1
	return d[:cut] + fmt.Sprintf("... (%d more bytes)\n", len(d)-cut)
}
