package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/token"
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/berthops/berth/manifests"
)

// fieldChanges lists where x and y differ, leaf by leaf, named with the
// manifest's JSON field names so a reviewer recognises what they wrote.
// Empty and absent are the same thing in a manifest, so nil and empty slices
// and maps compare equal.
func fieldChanges(x, y any) []FieldChange {
	r := &fieldReporter{}
	cmp.Equal(x, y, cmpopts.EquateEmpty(), cmpopts.IgnoreTypes(manifests.Origin{}), ignoreUnexported(), cmp.Reporter(r))
	return r.changes
}

// ignoreUnexported skips unexported fields of any struct: they are not part
// of a manifest, and cmp would panic on them if the model ever gained one.
func ignoreUnexported() cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		return ok && !token.IsExported(sf.Name())
	}, cmp.Ignore())
}

// fieldReporter is a cmp.Reporter collecting the differing leaves.
type fieldReporter struct {
	path    cmp.Path
	changes []FieldChange
}

func (r *fieldReporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }

func (r *fieldReporter) PopStep() { r.path = r.path[:len(r.path)-1] }

func (r *fieldReporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	vx, vy := r.path.Last().Values()
	r.changes = append(r.changes, FieldChange{
		Path: formatPath(r.path),
		From: jsonValue(vx),
		To:   jsonValue(vy),
	})
}

// formatPath renders a cmp path as healthChecks[0].path or env["PORT"].
func formatPath(p cmp.Path) string {
	var b strings.Builder
	for i, step := range p {
		switch s := step.(type) {
		case cmp.StructField:
			name := s.Name()
			if i > 0 {
				if f, ok := p[i-1].Type().FieldByName(s.Name()); ok {
					name = jsonName(f)
				}
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(name)
		case cmp.SliceIndex:
			ix, iy := s.SplitKeys()
			if ix < 0 {
				ix = iy
			}
			fmt.Fprintf(&b, "[%d]", ix)
		case cmp.MapIndex:
			fmt.Fprintf(&b, "[%q]", fmt.Sprint(s.Key().Interface()))
		}
	}
	return b.String()
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "" || name == "-" {
		return f.Name
	}
	return name
}

// jsonValue encodes one side of a difference; an absent side (missing map key
// or slice element, nil pointer) encodes as nothing.
func jsonValue(v reflect.Value) json.RawMessage {
	if !v.IsValid() || !v.CanInterface() {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		if v.IsNil() {
			return nil
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Values are shown to people; "<" should read as "<", not \u003c.
	enc.SetEscapeHTML(false)
	err := enc.Encode(v.Interface())
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if err != nil {
		// Manifest values are plain data; this cannot happen, and a
		// readable stand-in beats failing the whole plan.
		return json.RawMessage(fmt.Sprintf("%q", fmt.Sprint(v.Interface())))
	}
	return b
}

// classify names an update by the most disruptive field it touches: a task
// definition field makes it a restart; otherwise anything but an app's
// instance count makes it config; only instances is a scale.
func classify(kind manifests.Kind, fields []FieldChange) UpdateKind {
	kindOf := UpdateScale
	for _, f := range fields {
		top := topField(f.Path)
		switch {
		case definesTask(kind, top):
			return UpdateRestart
		case kind == manifests.KindApp && top == "instances":
		default:
			kindOf = UpdateConfig
		}
	}
	return kindOf
}

func topField(p string) string {
	if i := strings.IndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return p
}

// definesTask reports whether a top-level field is part of what runs: for an
// app or job what goes into the container or decides where it goes, for a
// template what ends up in the rendered file or where it lands. Unknown fields
// count as task fields, so a field added to a kind later errs on the side of
// showing a restart. Queues run nothing.
func definesTask(kind manifests.Kind, field string) bool {
	switch kind {
	case manifests.KindApp:
		switch field {
		case "instances", "labels", "upgradeStrategy", "unreachableStrategy", "backoffSeconds",
			"backoffFactor", "maxLaunchDelaySeconds", "killSelection", "dependencies", "queue":
			return false
		}
		return true
	case manifests.KindJob:
		switch field {
		case "schedule", "scheduleTimeZone", "cron", "parents", "epsilon", "retries", "owner",
			"disabled", "concurrent", "queue":
			return false
		}
		return true
	case manifests.KindTemplate:
		switch field {
		case "command", "validate", "wait", "backup":
			return false
		}
		return true
	case manifests.KindSecret:
		// A new version is new values: the tasks that use them restart.
		return field == "version"
	}
	return false
}
