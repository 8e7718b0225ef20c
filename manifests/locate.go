package manifests

import (
	"errors"
	"fmt"
	"strings"

	"github.com/berthops/berth/schedule"
	"gopkg.in/yaml.v3"
)

// locate finds the node of a field path (map keys and list indexes) under
// root. When the path does not exist in the source, because the value is a
// default or was moved from an older form, it returns the deepest node that
// does, so an error still points near the right place.
func locate(root *yaml.Node, path ...any) *yaml.Node {
	n := root
	for _, p := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			next = mapValue(n, p)
		case int:
			if n.Kind == yaml.SequenceNode && p >= 0 && p < len(n.Content) {
				next = n.Content[p]
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

// fieldPath renders a locate path as it appears in error messages:
// container.portMappings[0].hostPort.
func fieldPath(path ...any) string {
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		}
	}
	return b.String()
}

// reporter adds errors about one decoded object, positioned by field path.
type reporter struct {
	errs *ErrorList
	file string
	root *yaml.Node
}

func (r reporter) at(path []any, format string, args ...any) {
	n := locate(r.root, path...)
	*r.errs = append(*r.errs, &Error{
		File: r.file, Line: n.Line, Col: n.Column,
		Field: fieldPath(path...), Message: fmt.Sprintf(format, args...),
	})
}

// syntax reports a parse error of a scalar field; a schedule.SyntaxError's
// byte offset is turned into the column it points at.
func (r reporter) syntax(path []any, err error) {
	n := locate(r.root, path...)
	e := &Error{File: r.file, Line: n.Line, Col: n.Column, Field: fieldPath(path...), Message: err.Error()}
	var se *schedule.SyntaxError
	if errors.As(err, &se) {
		e.Message = se.Msg
		if n.Kind == yaml.ScalarNode && !strings.Contains(n.Value, "\n") && se.Pos >= 0 && se.Pos <= len(n.Value) {
			e.Col += se.Pos
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				e.Col++
			}
		}
		e.Message = fmt.Sprintf("%q: %s", n.Value, se.Msg)
	}
	*r.errs = append(*r.errs, e)
}

// p builds a path; it keeps call sites short.
func p(parts ...any) []any { return parts }
