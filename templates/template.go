package templates

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"
)

// Recaller answers queries from what has been fetched so far. ok is false
// while a query has no answer yet; a present answer may be a nil value (a KV
// key that does not exist, a node that is not registered).
type Recaller interface {
	Recall(q Query) (value any, ok bool)
}

// Env looks up an environment variable for `env` and `envOrDefault`.
type Env func(name string) (value string, ok bool)

// ExecInput is everything a render depends on besides the template text:
// data, time and environment are inputs, never read from globals, so a render
// is a pure function of its input.
type ExecInput struct {
	Data Recaller
	Now  time.Time
	Env  Env
	// EnvCheck, when set, is asked first by `env` and `envOrDefault`: an
	// error fails the render instead of reading the variable.
	EnvCheck func(name string) error
}

// Result is one execution of a template.
type Result struct {
	Output []byte
	// Used lists every query the template asked, in first-use order.
	Used []Query
	// Missing lists the used queries without an answer yet (or, for safeLs
	// and safeTree, with an empty one). The output is not to be written
	// while any are missing.
	Missing []Query
}

// Complete reports whether the output may be written.
func (r *Result) Complete() bool { return len(r.Missing) == 0 }

// Template is a parsed template. Execute may be called from several
// goroutines; executions are serialised.
type Template struct {
	name string
	mu   sync.Mutex
	tmpl *template.Template
	run  *execution // the execution in progress, read by the bound functions
}

// execution is the state of one Execute call.
type execution struct {
	in      ExecInput
	used    []Query
	seen    map[string]bool
	missing []Query
	missed  map[string]bool
	scratch Scratch
	depth   int // executeTemplate nesting
	calls   int // executeTemplate calls so far
}

// Options configure parsing. Empty delimiters mean "{{" and "}}".
type Options struct {
	LeftDelim, RightDelim string
}

// Parse parses a template. name appears in every error, with the line, so
// it should say where the text came from (a file path, or a manifest's file
// and id).
func Parse(name, text string, opts Options) (*Template, error) {
	t := &Template{name: name}
	tmpl := template.New(name).Delims(opts.LeftDelim, opts.RightDelim).Option("missingkey=zero")
	tmpl.Funcs(t.funcs(tmpl))
	parsed, err := tmpl.Parse(text)
	if err != nil {
		return nil, describeParseError(err)
	}
	t.tmpl = parsed
	return t, nil
}

// Name is the name given to Parse.
func (t *Template) Name() string { return t.name }

// Execute renders the template against the data recalled so far. On an
// execution error the Result still lists the queries used and missing so
// far (its Output is nil).
func (t *Template) Execute(in ExecInput) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if in.Env == nil {
		in.Env = func(string) (string, bool) { return "", false }
	}
	if in.Data == nil {
		in.Data = emptyRecaller{}
	}
	t.run = &execution{in: in, seen: map[string]bool{}, missed: map[string]bool{}}
	defer func() { t.run = nil }()
	var buf bytes.Buffer
	if err := t.tmpl.Execute(&buf, nil); err != nil {
		// The queries seen before the failure still matter: the failure
		// may be the zero value of an answer not fetched yet (a nil map
		// from `key ... | parseJSON`), which the next pass will have.
		return &Result{Used: t.run.used, Missing: t.run.missing}, fmt.Errorf("render %s: %w", t.name, err)
	}
	return &Result{Output: buf.Bytes(), Used: t.run.used, Missing: t.run.missing}, nil
}

type emptyRecaller struct{}

func (emptyRecaller) Recall(Query) (any, bool) { return nil, false }

// recall records q as used and returns its answer; a query without one is
// recorded as missing.
func (e *execution) recall(q Query) (any, bool) {
	k := q.String()
	if !e.seen[k] {
		e.seen[k] = true
		e.used = append(e.used, q)
	}
	v, ok := e.in.Data.Recall(q)
	if !ok {
		e.miss(q)
	}
	return v, ok
}

func (e *execution) miss(q Query) {
	k := q.String()
	if !e.missed[k] {
		e.missed[k] = true
		e.missing = append(e.missing, q)
	}
}

// unsupportedReason says why a consul-template function is left out: Berth
// deliberately does not provide Vault, Nomad, Connect, or arbitrary file and
// process access. Using one is a parse error that says so, never a silent
// empty string.
func unsupportedReason(fn string) (string, bool) {
	switch fn {
	case "secret", "secrets", "pkiCert":
		return "Vault", true
	case "caRoots", "caLeaf", "connect":
		return "Consul Connect", true
	case "datacenters":
		return "multi-datacenter", true
	case "exportedServices", "partitions":
		return "Consul admin partitions", true
	case "peerings":
		return "Consul peering", true
	case "nomadServices", "nomadService", "nomadVarList", "nomadVarListSafe", "nomadVar", "nomadVarExists":
		return "Nomad", true
	case "file":
		return "local file access", true
	case "plugin":
		return "process execution", true
	case "writeToFile":
		return "file writing", true
	case "sockaddr":
		return "go-sockaddr", true
	case "mergeMap", "mergeMapWithOverride", "explodeMap":
		return "map manipulation", true
	case "toTOML":
		return "TOML", true
	case "mustEnv":
		return "required-environment", true
	case "spew_dump", "spew_printf", "spew_sdump", "spew_sprintf":
		return "debugging", true
	}
	return "", false
}

var undefinedFuncRe = regexp.MustCompile(`^template: (.*?):(\d+): function "([^"]+)" not defined$`)

// describeParseError turns text/template's "function not defined" into an
// error that names the function and says whether it is a consul-template
// function Berth leaves out.
func describeParseError(err error) error {
	m := undefinedFuncRe.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("parse %w", err)
	}
	file, line, fn := m[1], m[2], m[3]
	if what, ok := unsupportedReason(fn); ok {
		return &UnsupportedFuncError{File: file, Line: atoi(line), Func: fn, Reason: "consul-template's " + what + " function is not supported by Berth"}
	}
	if strings.HasPrefix(fn, "sprig_") {
		return &UnsupportedFuncError{File: file, Line: atoi(line), Func: fn, Reason: "Sprig functions are not supported by Berth"}
	}
	return &UnsupportedFuncError{File: file, Line: atoi(line), Func: fn, Reason: "no such function in the consul-template language"}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// UnsupportedFuncError is a template calling a function Berth does not have.
type UnsupportedFuncError struct {
	File   string
	Line   int
	Func   string
	Reason string
}

func (e *UnsupportedFuncError) Error() string {
	return fmt.Sprintf("%s:%d: function %q: %s", e.File, e.Line, e.Func, e.Reason)
}

// ErrUnsupportedFunc matches every UnsupportedFuncError with errors.Is.
var ErrUnsupportedFunc = errors.New("unsupported template function")

// Is makes errors.Is(err, ErrUnsupportedFunc) true.
func (e *UnsupportedFuncError) Is(target error) bool { return target == ErrUnsupportedFunc }

// SupportedFuncs lists the function names a template may call, sorted.
func SupportedFuncs() []string {
	t := &Template{}
	names := make([]string, 0, 80)
	for name := range t.funcs(template.New("")) {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
