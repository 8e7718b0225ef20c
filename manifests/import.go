package manifests

import (
	"bytes"
	"fmt"
	"path"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Source says which system an import reads from.
type Source string

const (
	SourceMarathon Source = "marathon"
	SourceChronos  Source = "chronos"
)

// Import reads what Marathon or Chronos gives out (one app or job, a list of
// them, a /v2/apps or /v2/groups response, a /v1/scheduler/jobs response) and
// returns the validated, normalised objects. References that point outside
// the input (a dependency or parent declared elsewhere) are not errors here:
// they are checked when the written manifests are loaded with the rest of
// the repository. name is used in error messages.
func Import(src Source, name string, data []byte) (*Set, error) {
	l := newLoader(emptyFS{})
	// An API response piped in on stdin has no extension but is JSON.
	isYAML := strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
	l.addFileAs(name, data, !isYAML)
	switch src {
	case SourceMarathon:
		for _, e := range l.jobs {
			l.errAt(e.v.Origin, "", "this is a Chronos job: use `berth import chronos`")
		}
		l.jobs = nil
	case SourceChronos:
		for _, e := range l.apps {
			l.errAt(e.v.Origin, "", "this is a Marathon app: use `berth import marathon`")
		}
		l.apps = nil
	default:
		return nil, fmt.Errorf("import %s: unknown source %q: expected marathon or chronos", name, src)
	}
	for _, e := range l.templates {
		l.errAt(e.v.Origin, "kind", "templates are not imported")
	}
	for _, e := range l.queues {
		l.errAt(e.v.Origin, "kind", "queues are not imported")
	}
	l.templates, l.queues = nil, nil
	l.skipReferences = true
	return l.finish()
}

// Files renders the set as one YAML manifest per object, keyed by the file
// name it should have in a repository: an app /web/nginx at
// apps/web/nginx.yaml, a job at jobs/<name>.yaml, a queue at
// queues/<path>.yaml and a template at templates/<id>.berth.yaml with its
// contents inline. Loading the files gives back an equal Set.
func (s *Set) Files() (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(name string, kind Kind, v any) error {
		var doc yaml.Node
		if err := doc.Encode(v); err != nil {
			return fmt.Errorf("encode %s %s: %w", kind, name, err)
		}
		if a, ok := v.(*App); ok && a.PortDefinitions != nil && len(a.PortDefinitions) == 0 && a.hostNetwork() {
			// omitempty drops the list, and an app without it gets one port:
			// `portDefinitions: []` is how Marathon asks for none.
			doc.Content = append(doc.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "portDefinitions"},
				&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle})
		}
		orderKeys(&doc, reflect.TypeOf(v), 0)
		doc.Content = append([]*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: "kind"},
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(kind)},
		}, doc.Content...)
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(&doc); err != nil {
			return fmt.Errorf("encode %s %s: %w", kind, name, err)
		}
		if err := enc.Close(); err != nil {
			return fmt.Errorf("encode %s %s: %w", kind, name, err)
		}
		name, err := manifestFileName(name)
		if err != nil {
			return err
		}
		if _, dup := files[name]; dup {
			return fmt.Errorf("two objects would be written to %s", name)
		}
		files[name] = b.Bytes()
		return nil
	}
	for i := range s.Apps {
		a := &s.Apps[i]
		if err := add(path.Join("apps", a.ID), KindApp, a); err != nil {
			return nil, err
		}
	}
	for i := range s.Jobs {
		j := &s.Jobs[i]
		if err := add(path.Join("jobs", j.Name), KindJob, j); err != nil {
			return nil, err
		}
	}
	for i := range s.Queues {
		q := &s.Queues[i]
		if err := add(path.Join("queues", q.ID), KindQueue, q); err != nil {
			return nil, err
		}
	}
	for i := range s.Templates {
		t := s.Templates[i]
		t.Source = "" // the contents are inline
		if err := add(path.Join("templates", t.ID), KindTemplate, &t); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// manifestFileName turns an object's path into a file name that the file
// rule (IsManifestFile) treats as a manifest and that stays inside the
// directory it is written to.
func manifestFileName(name string) (string, error) {
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return "", fmt.Errorf("cannot write %q as a file name: a path segment is empty or starts with a dot", name)
		}
	}
	name += ".yaml"
	if !IsManifestFile(name) {
		name = strings.TrimSuffix(name, ".yaml") + ".berth.yaml"
	}
	return name, nil
}
