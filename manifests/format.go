package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Format returns a manifest file in Berth's canonical style, keeping its
// content and comments: YAML is indented by two spaces with each object's
// keys in the order of the model (kind, id or name first; unknown keys last,
// in their order); JSON is indented by two spaces with its keys as written,
// so that exports from Marathon and Chronos stay diffable against the
// originals. name decides which (by extension) and is used in errors.
func Format(name string, data []byte) ([]byte, error) {
	if strings.HasSuffix(name, ".json") {
		var b bytes.Buffer
		if err := json.Indent(&b, bytes.TrimSpace(data), "", "  "); err != nil {
			return nil, fmt.Errorf("format %s: %w", name, err)
		}
		b.WriteByte('\n')
		return b.Bytes(), nil
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("format %s: %s", name, sizeError(name, int64(len(data)), MaxFileBytes, "file too large").Message)
	}
	docs, err := parseDocs(data)
	if err != nil {
		return nil, fmt.Errorf("format %s: %w", name, err)
	}
	// Empty documents ("---" alone) mean nothing to the loader; yaml.v3
	// would write them as lines that do not parse back.
	kept := docs[:0:0]
	for _, doc := range docs {
		if !emptyDoc(doc) {
			kept = append(kept, doc)
		}
	}
	if len(kept) == 0 {
		// Nothing but comments (which yaml.v3 drops with no node to
		// attach them to) or nothing at all: keep the text.
		return commentsOnly(data), nil
	}
	// A file whose values do not decode (duplicate keys, say) is still
	// formatted; only its syntax is then checked below.
	want, wantErr := values(kept)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, doc := range kept {
		orderKeys(doc, docType(doc), 0)
		if err := enc.Encode(doc); err != nil {
			return nil, fmt.Errorf("format %s: %w", name, err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("format %s: %w", name, err)
	}
	// Never hand back text that reads differently, or not at all: a
	// formatter that rewrites a file must be trusted blindly.
	again, err := parseDocs(b.Bytes())
	switch {
	case err != nil:
	case len(again) != len(kept):
		err = fmt.Errorf("the result has %d documents, not %d", len(again), len(kept))
	case wantErr == nil:
		var got []any
		if got, err = values(again); err == nil && !reflect.DeepEqual(got, want) {
			err = fmt.Errorf("the result would read differently")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("format %s: cannot format this file without changing what it says (%v); it is left as it is", name, err)
	}
	return b.Bytes(), nil
}

// emptyDoc reports whether a document holds nothing: a plain null without
// comments, tag or anchor.
func emptyDoc(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && (n.Value == "" || n.Value == "~" || n.Value == "null") &&
		n.Anchor == "" && n.Style == 0 && n.HeadComment == "" && n.LineComment == "" && n.FootComment == ""
}

// commentsOnly is the canonical form of a file without documents: its lines
// without trailing blanks, no blank lines at either end, "" when empty.
func commentsOnly(data []byte) []byte {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	text := strings.Trim(strings.Join(lines, "\n"), "\n")
	if text == "" {
		return []byte{}
	}
	return []byte(text + "\n")
}

// values decodes documents into plain values, to compare the meaning of a
// file before and after formatting.
func values(docs []*yaml.Node) (out []any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot decode: %v", r)
		}
	}()
	for _, d := range docs {
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// docType is the model type a top-level document decodes into, or nil.
func docType(n *yaml.Node) reflect.Type {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	kind := ""
	if k := mapValue(n, "kind"); k != nil {
		kind = k.Value
	}
	switch {
	case kind == string(KindApp), kind == "" && mapValue(n, "id") != nil && mapValue(n, "apps") == nil && mapValue(n, "groups") == nil:
		return reflect.TypeFor[App]()
	case kind == string(KindJob), kind == "" && mapValue(n, "name") != nil:
		return reflect.TypeFor[Job]()
	case kind == string(KindTemplate):
		return reflect.TypeFor[Template]()
	case kind == string(KindQueue):
		return reflect.TypeFor[Queue]()
	case kind == string(KindSecret):
		return reflect.TypeFor[Secret]()
	}
	return nil
}

// orderKeys sorts the keys of a mapping node of type t into the model's
// field order, recursively. depth bounds recursion on hostile input.
func orderKeys(n *yaml.Node, t reflect.Type, depth int) {
	if n == nil || t == nil || depth > 32 {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for _, c := range n.Content {
			orderKeys(c, t.Elem(), depth+1)
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		rank := map[string]int{"kind": -1}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			rank[name] = i
			fields[name] = f.Type
		}
		for i, name := range keyOrder(t) {
			rank[name] = i
		}
		type pair struct{ k, v *yaml.Node }
		pairs := make([]pair, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			pairs = append(pairs, pair{n.Content[i], n.Content[i+1]})
		}
		pos := func(k *yaml.Node) int {
			if r, ok := rank[k.Value]; ok {
				return r
			}
			return t.NumField() // unknown keys keep their order, at the end
		}
		if len(pairs) == 0 {
			return
		}
		// A comment above the first key describes the whole object: it stays
		// on top whichever key comes first.
		head := pairs[0].k.HeadComment
		pairs[0].k.HeadComment = ""
		slices.SortStableFunc(pairs, func(a, b pair) int { return pos(a.k) - pos(b.k) })
		if head != "" {
			pairs[0].k.HeadComment = strings.TrimSpace(head + "\n" + pairs[0].k.HeadComment)
		}
		for i, pr := range pairs {
			n.Content[2*i], n.Content[2*i+1] = pr.k, pr.v
			orderKeys(pr.v, fields[pr.k.Value], depth+1)
		}
	}
}

// keyOrder is the order people read apps and jobs in: what it is, what it
// runs, how much of it, where, then the tuning. Other types keep the order of
// their fields.
func keyOrder(t reflect.Type) []string {
	switch t {
	case reflect.TypeFor[App]():
		return []string{"id", "cmd", "args", "user", "instances", "cpus", "mem", "disk", "constraints",
			"container", "networks", "portDefinitions", "ports", "requirePorts", "env", "labels", "healthChecks",
			"readinessChecks", "upgradeStrategy", "unreachableStrategy", "backoffSeconds", "backoffFactor", "maxLaunchDelaySeconds",
			"taskKillGracePeriodSeconds", "killSelection", "dependencies", "queue"}
	case reflect.TypeFor[Job]():
		return []string{"name", "schedule", "scheduleTimeZone", "cron", "parents", "epsilon", "command", "shell",
			"arguments", "retries", "cpus", "mem", "disk", "container", "environmentVariables", "owner",
			"disabled", "concurrent", "constraints", "queue"}
	}
	return nil
}
