package templates

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// maxExecuteDepth bounds executeTemplate nesting.
const (
	maxExecuteDepth = 100
	maxExecuteCalls = 100000
)

// funcs binds the function map to t: the data functions read the execution in
// progress (t.run), so one parsed template serves every render.
func (t *Template) funcs(tmpl *template.Template) template.FuncMap {
	return template.FuncMap{
		// Data functions.
		"service":      t.service,
		"services":     t.services,
		"key":          t.key,
		"keyExists":    t.keyExists,
		"keyOrDefault": t.keyOrDefault,
		"ls":           func(s string) ([]*KeyPair, error) { return t.list(s, false, true) },
		"safeLs":       func(s string) ([]*KeyPair, error) { return t.list(s, false, false) },
		"tree":         func(s string) ([]*KeyPair, error) { return t.list(s, true, true) },
		"safeTree":     func(s string) ([]*KeyPair, error) { return t.list(s, true, false) },
		"node":         t.node,
		"nodes":        t.nodes,

		// Per-render state and inputs.
		"scratch":      func() *Scratch { return &t.run.scratch },
		"env":          t.env,
		"envOrDefault": t.envOrDefault,
		"timestamp":    t.timestamp,
		"executeTemplate": func(name string, data ...any) (string, error) {
			var dot any
			switch len(data) {
			case 0:
			case 1:
				dot = data[0]
			default:
				return "", fmt.Errorf("executeTemplate: wrong number of arguments, expected 1 or 2, but got %d", len(data)+1)
			}
			// Each call starts a fresh text/template state, whose own depth
			// limit never trips; bound recursion here so a template that
			// calls itself fails instead of overflowing the stack.
			if t.run.depth >= maxExecuteDepth {
				return "", fmt.Errorf("executeTemplate %q: nested more than %d deep", name, maxExecuteDepth)
			}
			if t.run.calls >= maxExecuteCalls {
				return "", fmt.Errorf("executeTemplate %q: more than %d calls in one render", name, maxExecuteCalls)
			}
			t.run.calls++
			t.run.depth++
			defer func() { t.run.depth-- }()
			var b bytes.Buffer
			if err := tmpl.ExecuteTemplate(&b, name, dot); err != nil {
				return "", err
			}
			return b.String(), nil
		},

		// Pure helpers.
		"base64Decode":          base64Decode,
		"base64Encode":          base64Encode,
		"base64URLDecode":       base64URLDecode,
		"base64URLEncode":       base64URLEncode,
		"byKey":                 byKey,
		"byPort":                byPort,
		"byTag":                 byTag,
		"byMeta":                byMeta,
		"contains":              contains,
		"containsAll":           containsSome(true, true),
		"containsAny":           containsSome(false, false),
		"containsNone":          containsSome(true, false),
		"containsNotAll":        containsSome(false, true),
		"explode":               explode,
		"in":                    in,
		"indent":                indent,
		"loop":                  loop,
		"join":                  join,
		"trim":                  trim,
		"trimPrefix":            trimPrefix,
		"trimSuffix":            trimSuffix,
		"trimSpace":             trimSpace,
		"parseBool":             parseBool,
		"parseFloat":            parseFloat,
		"parseInt":              parseInt,
		"parseJSON":             parseJSON,
		"parseUint":             parseUint,
		"parseYAML":             parseYAML,
		"regexReplaceAll":       regexReplaceAll,
		"regexMatch":            regexMatch,
		"replaceAll":            replaceAll,
		"sha256Hex":             sha256Hex,
		"md5sum":                md5sum,
		"hmacSHA256Hex":         hmacSHA256Hex,
		"toLower":               toLower,
		"toJSON":                toJSON,
		"toJSONPretty":          toJSONPretty,
		"toUnescapedJSON":       toUnescapedJSON,
		"toUnescapedJSONPretty": toUnescapedJSONPretty,
		"toTitle":               toTitle,
		"toUpper":               toUpper,
		"toYAML":                toYAML,
		"split":                 split,
		"splitToMap":            splitToMap,

		// Math.
		"add":      add,
		"subtract": subtract,
		"multiply": multiply,
		"divide":   divide,
		"modulo":   modulo,
		"minimum":  minimum,
		"maximum":  maximum,
	}
}

// service returns the instances of a service; with two arguments the second
// is the health filter (`service "web" "passing,warning"`).
func (t *Template) service(args ...string) ([]*HealthService, error) {
	if len(args) == 0 || args[0] == "" {
		return []*HealthService{}, nil
	}
	q, err := ParseServiceQuery(strings.Join(args, "|"))
	if err != nil {
		return nil, err
	}
	if v, ok := t.run.recall(q); ok {
		if list, ok := v.([]*HealthService); ok {
			return list, nil
		}
	}
	return []*HealthService{}, nil
}

func (t *Template) services(args ...string) ([]*CatalogSnippet, error) {
	q, err := ParseServicesQuery(strings.Join(args, ""))
	if err != nil {
		return nil, err
	}
	if v, ok := t.run.recall(q); ok {
		if list, ok := v.([]*CatalogSnippet); ok {
			return list, nil
		}
	}
	return []*CatalogSnippet{}, nil
}

// kvValue recalls a key; present is false when the key does not exist.
func (t *Template) kvValue(s string) (value string, present, answered bool, err error) {
	q, err := ParseKeyQuery(s)
	if err != nil {
		return "", false, false, err
	}
	v, ok := t.run.recall(q)
	if !ok {
		return "", false, false, nil
	}
	str, isStr := v.(string)
	return str, isStr, true, nil
}

// key waits for the key to exist: a missing key keeps the template from
// being written, as consul-template's blocking key query does.
func (t *Template) key(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	v, present, answered, err := t.kvValue(s)
	if err != nil {
		return "", err
	}
	if answered && !present {
		q, _ := ParseKeyQuery(s)
		t.run.miss(q)
	}
	return v, nil
}

func (t *Template) keyExists(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	_, present, _, err := t.kvValue(s)
	return present, err
}

// keyOrDefault uses the default while the key is missing or empty.
func (t *Template) keyOrDefault(s, def string) (string, error) {
	if s == "" {
		return def, nil
	}
	v, present, _, err := t.kvValue(s)
	if err != nil {
		return "", err
	}
	if !present || v == "" {
		return def, nil
	}
	return v, nil
}

// list implements ls (top-level keys only) and tree (every key that is not a
// "directory"); the safe forms refuse an empty answer, holding the template
// back instead of rendering it empty.
func (t *Template) list(s string, recursive, emptyIsSafe bool) ([]*KeyPair, error) {
	result := []*KeyPair{}
	if s == "" {
		return result, nil
	}
	q, err := ParseKeyListQuery(s)
	if err != nil {
		return result, err
	}
	v, ok := t.run.recall(q)
	if !ok {
		return result, nil
	}
	pairs, _ := v.([]*KeyPair)
	for _, p := range pairs {
		if recursive {
			if !strings.HasSuffix(p.Key, "/") && p.Key != "" {
				result = append(result, p)
			}
		} else if p.Key != "" && !strings.Contains(p.Key, "/") {
			result = append(result, p)
		}
	}
	if len(result) == 0 && !emptyIsSafe {
		t.run.miss(q)
	}
	return result, nil
}

func (t *Template) node(args ...string) (*CatalogNode, error) {
	q, err := ParseNodeQuery(strings.Join(args, ""))
	if err != nil {
		return nil, err
	}
	if v, ok := t.run.recall(q); ok {
		n, _ := v.(*CatalogNode)
		return n, nil
	}
	return nil, nil
}

func (t *Template) nodes(args ...string) ([]*Node, error) {
	q, err := ParseNodesQuery(strings.Join(args, ""))
	if err != nil {
		return nil, err
	}
	if v, ok := t.run.recall(q); ok {
		if list, ok := v.([]*Node); ok {
			return list, nil
		}
	}
	return []*Node{}, nil
}

func (t *Template) env(name string) (string, error) {
	if check := t.run.in.EnvCheck; check != nil {
		if err := check(name); err != nil {
			return "", err
		}
	}
	v, _ := t.run.in.Env(name)
	return v, nil
}

func (t *Template) envOrDefault(name, def string) (string, error) {
	if check := t.run.in.EnvCheck; check != nil {
		if err := check(name); err != nil {
			return "", err
		}
	}
	if v, ok := t.run.in.Env(name); ok {
		return v, nil
	}
	return def, nil
}

// timestamp formats the render time (UTC): RFC 3339 by default, "unix" for
// seconds since the epoch, or any Go layout.
func (t *Template) timestamp(layout ...string) (string, error) {
	now := t.run.in.Now.UTC()
	switch len(layout) {
	case 0:
		return now.Format(time.RFC3339), nil
	case 1:
		if layout[0] == "unix" {
			return strconv.FormatInt(now.Unix(), 10), nil
		}
		return now.Format(layout[0]), nil
	}
	return "", fmt.Errorf("timestamp: wrong number of arguments, expected 0 or 1, but got %d", len(layout))
}
