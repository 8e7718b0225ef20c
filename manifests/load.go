package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
	"gopkg.in/yaml.v3"
)

// IsManifestFile is the file rule: which files in a repository are
// manifests. Files ending in .yaml, .yml or .json are, except dot-files and
// anything inside a `templates` directory, where template sources live;
// `*.berth.yaml` is always a manifest, even there. Dot-directories (.git,
// .github) are never read at all. name is slash-separated, relative to the root.
func IsManifestFile(name string) bool {
	base := path.Base(name)
	if strings.HasPrefix(base, ".") {
		return false
	}
	if strings.HasSuffix(base, ".berth.yaml") {
		return true
	}
	switch path.Ext(base) {
	case ".yaml", ".yml", ".json":
	default:
		return false
	}
	for _, dir := range strings.Split(path.Dir(name), "/") {
		if dir == "templates" {
			return false
		}
	}
	return true
}

// skipDir reports whether a directory is never searched for manifests.
func skipDir(name string) bool {
	return name != "." && strings.HasPrefix(path.Base(name), ".")
}

// Load reads, validates and normalises every manifest in fsys. It returns
// the Set, or an ErrorList holding every problem found (file names relative
// to the root of fsys), or another error when fsys itself cannot be read.
func Load(fsys fs.FS) (*Set, error) {
	return load(fsys, nil)
}

// load is Load with parsing served from c when it is not nil.
func load(fsys fs.FS, c *ParseCache) (*Set, error) {
	// Files are read one at a time (fsys may be a Git object store that is
	// not safe for concurrent use) and parsed on every core; decoding is
	// sequential, in walk order, so results never depend on scheduling.
	var files []parsed
	var data [][]byte
	// Sizes are checked before a file is read where fsys knows them, so a
	// huge blob in a commit is never decompressed into memory.
	var total int64
	var refused ErrorList
	err := fs.WalkDir(fsys, ".", func(name string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			if skipDir(name) {
				return fs.SkipDir
			}
			return nil
		}
		if !de.Type().IsRegular() && de.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if !IsManifestFile(name) {
			return nil
		}
		if len(files) == MaxFiles {
			refused = append(refused, &Error{File: name, Message: fmt.Sprintf("too many manifest files: more than the limit of %d in one load", MaxFiles)})
			return fs.SkipAll
		}
		if info, err := de.Info(); err == nil && de.Type().IsRegular() && info.Size() > MaxFileBytes {
			refused = append(refused, sizeError(name, info.Size(), MaxFileBytes, "file too large"))
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read manifest %s: %w", name, err)
		}
		if len(b) > MaxFileBytes {
			refused = append(refused, sizeError(name, int64(len(b)), MaxFileBytes, "file too large"))
			return nil
		}
		total += int64(len(b))
		if total > MaxLoadBytes {
			refused = append(refused, sizeError(name, total, MaxLoadBytes, "manifests too large: with this file the load reaches"))
			return fs.SkipAll
		}
		files = append(files, parsed{name: name})
		data = append(data, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load manifests: %w", err)
	}
	if len(refused) > 0 {
		// Nothing is parsed: the commit is refused as a whole, cheaply.
		return nil, refused.sort()
	}
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range files {
		g.Go(func() error {
			isJSON := strings.HasSuffix(files[i].name, ".json")
			if c != nil {
				files[i] = c.parse(files[i].name, data[i], isJSON)
			} else {
				files[i] = parseFile(files[i].name, data[i], isJSON)
			}
			return nil
		})
	}
	_ = g.Wait() // parseFile reports through parsed.err
	l := newLoader(fsys)
	for _, f := range files {
		l.addParsed(f)
	}
	return l.finish()
}

// LoadDir is Load on a directory of the local filesystem. It opens the
// directory as an os.Root, so symbolic links cannot lead a template source
// outside it, and error file names are prefixed with dir.
func LoadDir(dir string) (*Set, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("load manifests from %s: %w", dir, err)
	}
	defer root.Close()
	set, err := Load(root.FS())
	var list ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			e.File = filepath.Join(dir, filepath.FromSlash(e.File))
		}
	}
	return set, err
}

// LoadBytes loads manifests from one in-memory file, as if it were the only
// file of a repository (used by `berth import` and by tests). Template
// sources cannot be read and are reported as missing.
func LoadBytes(name string, data []byte) (*Set, error) {
	if len(data) > MaxFileBytes {
		return nil, ErrorList{sizeError(name, int64(len(data)), MaxFileBytes, "file too large")}
	}
	l := newLoader(emptyFS{})
	l.addFile(name, data)
	return l.finish()
}

type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// loader accumulates the objects and errors of one tree.
type loader struct {
	fsys      fs.FS
	errs      ErrorList
	types     map[reflect.Type]*structInfo
	apps      []*entry[App]
	jobs      []*entry[Job]
	templates []*entry[Template]
	queues    []*entry[Queue]
	secrets   []*entry[Secret]
	// skipReferences is set by Import: its input is part of a repository.
	skipReferences bool
	reporters      map[Origin]reporter
	extras         map[reflect.Type]map[string]extraRule
	budget         *budget
}

// entry is one decoded object with the node it came from, so that checks made
// after decoding can still point at the line of the field they reject.
type entry[T any] struct {
	v    *T
	node *yaml.Node
	file string
}

func newLoader(fsys fs.FS) *loader {
	return &loader{fsys: fsys, types: map[reflect.Type]*structInfo{}, extras: extraRules(), budget: newBudget()}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocs splits a file into its YAML documents. Parser panics are turned
// into errors: no input may crash a server validating a commit.
func parseDocs(data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot parse: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return docs, err
		}
		if len(doc.Content) > 0 {
			docs = append(docs, doc.Content[0])
		}
	}
}

func (l *loader) addFile(name string, data []byte) {
	l.addFileAs(name, data, strings.HasSuffix(name, ".json"))
}

// addFileAs parses a file, as JSON text (which YAML reads once tabs and `\/`
// are dealt with) or as YAML.
func (l *loader) addFileAs(name string, data []byte, isJSON bool) {
	l.addParsed(parseFile(name, data, isJSON))
}

// parsed is one file split into YAML documents, or its syntax error.
type parsed struct {
	name string
	docs []*yaml.Node
	err  *Error
}

// parseFile parses one file. It is pure, so Load runs it on every core.
func parseFile(name string, data []byte, isJSON bool) parsed {
	if isJSON {
		// YAML accepts what JSON does not (trailing commas, comments); a
		// .json file must be JSON, as Marathon and Chronos would require.
		if !json.Valid(data) {
			var v any
			return parsed{name: name, err: jsonError(name, data, json.Unmarshal(data, &v))}
		}
		// Tabs are whitespace in JSON but not YAML indentation; a valid JSON
		// file has none inside strings, so this keeps every column.
		data = bytes.ReplaceAll(data, []byte("\t"), []byte(" "))
		data = unescapeJSONSlashes(data)
	}
	docs, err := parseDocs(data)
	out := parsed{name: name, docs: docs}
	if err != nil {
		e := &Error{File: name, Message: err.Error()}
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Col = 1
			e.Message = "syntax error: " + m[2]
		}
		out.err = e
	}
	return out
}

func (l *loader) addParsed(p parsed) {
	if p.err != nil {
		l.errs = append(l.errs, p.err)
	}
	for _, doc := range p.docs {
		d := newDecoder(p.name, &l.errs, l.types, l.extras, l.budget)
		l.addNode(d, doc, "/", nil)
	}
}

// mapValue returns the value node of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

var kinds = []string{string(KindApp), string(KindJob), string(KindTemplate), string(KindQueue), string(KindSecret)}

// addNode classifies one top-level object. group is the Marathon group a
// relative app id resolves against; groupDeps are the dependencies of the
// enclosing groups, which apply to every app inside them.
func (l *loader) addNode(d *decoder, n *yaml.Node, group string, groupDeps []string) {
	n = d.resolve(n, "")
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		// A bare list: Chronos's /v1/scheduler/jobs, or a list of apps.
		for _, c := range n.Content {
			l.addNode(d, c, group, groupDeps)
		}
		return
	case yaml.MappingNode:
	default:
		if isNull(n) {
			return
		}
		d.errorf(n, "", "expected a manifest object, found %s", kindName(n))
		return
	}
	kind := ""
	if k := mapValue(n, "kind"); k != nil {
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "kind", "expected one of %s", strings.Join(kinds, ", "))
			return
		}
		kind = k.Value
	}
	switch {
	case kind == string(KindApp):
		l.addApp(d, n, group, groupDeps)
	case kind == string(KindJob):
		l.addJob(d, n)
	case (kind == string(KindTemplate) || kind == string(KindQueue) || kind == string(KindSecret)) && !d.object(n):
	case kind == string(KindSecret):
		l.addSecret(d, n)
	case kind == string(KindTemplate):
		t := new(Template)
		d.decode(n, reflect.ValueOf(t).Elem(), "")
		t.Origin = Origin{File: d.file, Line: n.Line, Col: n.Column}
		l.templates = append(l.templates, &entry[Template]{v: t, node: n, file: d.file})
	case kind == string(KindQueue):
		q := new(Queue)
		d.decode(n, reflect.ValueOf(q).Elem(), "")
		q.Origin = Origin{File: d.file, Line: n.Line, Col: n.Column}
		l.queues = append(l.queues, &entry[Queue]{v: q, node: n, file: d.file})
	case kind != "":
		msg := fmt.Sprintf("unknown kind %q: expected one of %s", kind, strings.Join(kinds, ", "))
		if s := suggest(kind, kinds); s != "" {
			msg = fmt.Sprintf("unknown kind %q (did you mean %q?)", kind, s)
		}
		d.errorf(mapValue(n, "kind"), "kind", "%s", msg)
	case len(n.Content) == 2 && mapValue(n, "app") != nil && mapValue(n, "app").Kind == yaml.MappingNode:
		// GET /v2/apps/{id} wraps the app: {"app": {...}}.
		l.addNode(d, mapValue(n, "app"), group, groupDeps)
	case mapValue(n, "apps") != nil || mapValue(n, "groups") != nil:
		l.addGroup(d, n, group, groupDeps)
	case mapValue(n, "id") != nil:
		l.addApp(d, n, group, groupDeps)
	case mapValue(n, "name") != nil && (mapValue(n, "schedule") != nil || mapValue(n, "parents") != nil || mapValue(n, "cron") != nil):
		l.addJob(d, n)
	case mapValue(n, "name") != nil:
		d.errorf(n, "", "a job needs schedule, cron or parents (or add kind: to say what this is)")
	default:
		d.errorf(n, "kind", "cannot tell what this manifest is: add kind: %s", strings.Join(kinds, "|"))
	}
}

func (l *loader) addApp(d *decoder, n *yaml.Node, group string, groupDeps []string) {
	if !d.object(n) {
		return
	}
	a := new(App)
	decoded, envSecrets := d.splitEnvSecrets(n)
	d.decode(decoded, reflect.ValueOf(a).Elem(), "")
	a.EnvSecrets = envSecrets
	a.Origin = Origin{File: d.file, Line: n.Line, Col: n.Column}
	if a.ID != "" {
		a.ID = resolveOwnID(a.ID, group)
	}
	base := path.Dir(a.ID)
	for i, dep := range a.Dependencies {
		a.Dependencies[i] = resolveID(dep, base)
	}
	a.Dependencies = append(a.Dependencies, groupDeps...)
	l.apps = append(l.apps, &entry[App]{v: a, node: n, file: d.file})
}

func (l *loader) addJob(d *decoder, n *yaml.Node) {
	if !d.object(n) {
		return
	}
	j := new(Job)
	d.decode(n, reflect.ValueOf(j).Elem(), "")
	j.Origin = Origin{File: d.file, Line: n.Line, Col: n.Column}
	l.jobs = append(l.jobs, &entry[Job]{v: j, node: n, file: d.file})
}

var groupFields = []string{"id", "apps", "groups", "dependencies", "version", "versionInfo", "enforceRole", "pods", "kind"}

// addGroup flattens a Marathon group (a /v2/groups response, or a group
// definition) into its apps: Berth has no groups, only path ids. A group's
// dependencies become dependencies of every app inside it.
func (l *loader) addGroup(d *decoder, n *yaml.Node, parent string, deps []string) {
	id := parent
	if v := mapValue(n, "id"); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
		id = resolveOwnID(v.Value, parent)
	}
	own := append([]string(nil), deps...)
	if v := mapValue(n, "dependencies"); v != nil {
		var list []string
		d.decode(v, reflect.ValueOf(&list).Elem(), "dependencies")
		for _, dep := range list {
			own = append(own, resolveID(dep, parent))
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "id":
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
				d.errorf(v, "id", "expected a string, found %s", kindName(v))
			}
		case "apps", "groups":
			v = d.resolve(v, k.Value)
			if v == nil || isNull(v) {
				continue
			}
			if v.Kind != yaml.SequenceNode {
				d.errorf(v, k.Value, "expected a list, found %s", kindName(v))
				continue
			}
			for _, c := range v.Content {
				c = d.resolve(c, k.Value)
				if c == nil {
					return
				}
				if c.Kind != yaml.MappingNode {
					d.errorf(c, k.Value, "expected an object, found %s", kindName(c))
					continue
				}
				if k.Value == "apps" {
					l.addApp(d, c, id, own)
				} else {
					l.addGroup(d, c, id, own)
				}
			}
		case "dependencies", "version", "versionInfo", "enforceRole", "kind":
		case "pods":
			if !emptyNode(d.resolve(v, "pods")) {
				d.errorf(k, "pods", "pods are not supported: declare each container as an app")
			}
		default:
			msg := "unknown field of a Marathon group"
			if s := suggest(k.Value, groupFields); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errorf(k, k.Value, "%s", msg)
		}
	}
}

// resolveID makes a Marathon path id absolute against base, the way Marathon
// resolves references relative to their group ("../db" is a sibling group's
// app). A path that climbs above the root is returned as written, not
// cleaned into something else, so the check that follows reports it.
func resolveID(id, base string) string {
	if !strings.HasPrefix(id, "/") {
		id = strings.TrimSuffix(base, "/") + "/" + id
	}
	depth := 0
	for _, seg := range strings.Split(id, "/") {
		switch seg {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return id
			}
		default:
			depth++
		}
	}
	return path.Clean("/" + id)
}

// resolveOwnID is resolveID for the id an object or group declares for
// itself, where "." and ".." are never meant: such an id is returned
// unresolved, so checkPathID reports it instead of it silently becoming
// another id ("../x" is not "/x").
func resolveOwnID(id, base string) string {
	if !strings.HasPrefix(id, "/") {
		id = strings.TrimSuffix(base, "/") + "/" + id
	}
	for _, seg := range strings.Split(id, "/") {
		if seg == "." || seg == ".." {
			return id
		}
	}
	return path.Clean("/" + id)
}

// unescapeJSONSlashes rewrites JSON's `\/` escape, which YAML does not have,
// as a plain `/` (older Chronos exports escape every slash). Columns after
// such an escape on the same line shift left by one; lines are unchanged.
func unescapeJSONSlashes(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\/`)) {
		return data
	}
	out := make([]byte, 0, len(data))
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '\\' && i+1 < len(data):
			if data[i+1] == '/' {
				out = append(out, '/')
				i++
				continue
			}
			out = append(out, c, data[i+1])
			i++
			continue
		case c == '"':
			inString = false
		}
		out = append(out, c)
	}
	return out
}

// jsonError positions a JSON syntax error by its byte offset.
func jsonError(name string, data []byte, err error) *Error {
	e := &Error{File: name, Message: "invalid JSON: " + err.Error()}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := min(int(se.Offset), len(data))
		before := data[:off]
		e.Line = bytes.Count(before, []byte("\n")) + 1
		e.Col = off - bytes.LastIndexByte(before, '\n')
		e.Message = "invalid JSON: " + se.Error()
	}
	return e
}
