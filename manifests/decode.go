package manifests

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder turns a yaml.Node tree into manifest structs strictly and with
// positions: unknown fields, wrong types and duplicate keys become Errors with
// the line and column of the offending node, and decoding carries on so that
// every problem is reported at once. JSON is decoded the same way (it is
// YAML), which is what gives Marathon and Chronos files line numbers too.
type decoder struct {
	file   string
	errs   *ErrorList
	types  map[reflect.Type]*structInfo
	extras map[reflect.Type]map[string]extraRule
	// budget bounds the nodes visited and aliases followed per load, so
	// aliases that fan out (a "billion laughs" file, or many small ones)
	// cannot make decoding explode. It is shared by the load's decoders.
	budget *budget
}

type structInfo struct {
	index map[string]int // field name as written -> struct field index
	names []string       // for did-you-mean
}

func newDecoder(file string, errs *ErrorList, types map[reflect.Type]*structInfo, extras map[reflect.Type]map[string]extraRule, b *budget) *decoder {
	return &decoder{file: file, errs: errs, types: types, extras: extras, budget: b}
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	if len(*d.errs) >= MaxErrors {
		d.budget.dropped++
		return
	}
	e := &Error{File: d.file, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	*d.errs = append(*d.errs, e)
}

func (d *decoder) info(t reflect.Type) *structInfo {
	if si, ok := d.types[t]; ok {
		return si
	}
	si := &structInfo{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		si.index[name] = i
		si.names = append(si.names, name)
	}
	d.types[t] = si
	return si
}

// resolve follows aliases and charges the budget; nil means "stop here".
func (d *decoder) resolve(n *yaml.Node, field string) *yaml.Node {
	b := d.budget
	if b.spent {
		return nil
	}
	for n != nil && n.Kind == yaml.AliasNode {
		b.aliases--
		n = n.Alias
	}
	b.nodes--
	if b.nodes < 0 || b.aliases < 0 {
		b.spent = true
		what := fmt.Sprintf("more than %d YAML nodes", MaxNodes)
		if b.aliases < 0 {
			what = fmt.Sprintf("more than %d aliases followed", MaxAliases)
		}
		// Always kept, even past MaxErrors: it says why loading stopped.
		e := &Error{File: d.file, Field: field, Message: "too large or too deeply aliased: " + what + " in this load (decoding stopped here)"}
		if n != nil {
			e.Line, e.Col = n.Line, n.Column
		}
		*d.errs = append(*d.errs, e)
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func child(field, name string) string {
	if field == "" {
		return name
	}
	return field + "." + name
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("the string %q", clip(n.Value))
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return fmt.Sprintf("%q", clip(n.Value))
	}
	return "something else"
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// decode fills v (addressable) from n. A null leaves v at its zero value, as
// Marathon's API returns null for unset fields.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, field string) {
	n = d.resolve(n, field)
	if n == nil || isNull(n) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), field)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[Constraint]() && n.Kind == yaml.SequenceNode {
			d.decodeConstraintList(n, v.Addr().Interface().(*Constraint), field)
			return
		}
		if v.Type() == reflect.TypeFor[Wait]() && n.Kind == yaml.ScalarNode {
			// consul-template's own spelling: wait = "5s:20s" (or "5s").
			w := v.Addr().Interface().(*Wait)
			w.Min, w.Max, _ = strings.Cut(n.Value, ":")
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errorf(n, field, "expected an object, found %s", kindName(n))
			return
		}
		d.decodeStruct(n, v, field)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, field, "expected a list, found %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", field, i))
		}
		v.Set(s)
	case reflect.Map:
		if v.Type() == reflect.TypeFor[VolumeOptions]() && n.Kind == yaml.SequenceNode {
			d.decodeOptionList(n, v, field)
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errorf(n, field, "expected an object, found %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := d.resolve(n.Content[i], field)
			if k == nil {
				return
			}
			if k.Kind != yaml.ScalarNode {
				d.errorf(k, field, "keys must be strings")
				continue
			}
			if seen[k.Value] {
				d.errorf(k, child(field, k.Value), "duplicate key")
				continue
			}
			seen[k.Value] = true
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decodeMapValue(n.Content[i+1], ev, child(field, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.errorf(n, field, "expected a string, found %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := scalarBool(n)
		if !ok {
			d.errorf(n, field, "expected true or false, found %s", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		f, ok := scalarNumber(n)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			d.errorf(n, field, "expected a whole number, found %s", kindName(n))
			return
		}
		v.SetInt(int64(f))
	case reflect.Float64:
		f, ok := scalarNumber(n)
		if !ok {
			d.errorf(n, field, "expected a number, found %s", kindName(n))
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n, field, "cannot decode into %s", v.Type())
	}
}

// decodeMapValue reads env and label values: YAML users write `PORT: 8080`
// and mean the string, so any scalar is accepted there.
func (d *decoder) decodeMapValue(n *yaml.Node, v reflect.Value, field string) {
	n = d.resolve(n, field)
	if n == nil {
		return
	}
	if v.Kind() == reflect.String && n.Kind == yaml.ScalarNode && !isNull(n) {
		v.SetString(n.Value)
		return
	}
	if v.Kind() == reflect.String && n.Kind == yaml.MappingNode {
		d.errorf(n, field, "expected a string, found an object (a secret reference is {secret: NAME}, NAME one of the app's secrets)")
		return
	}
	d.decode(n, v, field)
}

// scalarNumber accepts numbers and, because Chronos sends "cpus": "0.5",
// strings holding numbers.
func scalarNumber(n *yaml.Node) (float64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int", "!!float", "!!str":
	default:
		return 0, false
	}
	s := strings.ReplaceAll(strings.TrimSpace(n.Value), "_", "")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if i, ierr := strconv.ParseInt(s, 0, 64); ierr == nil {
			return float64(i), true
		}
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// scalarBool accepts booleans and the strings "true"/"false" (Chronos 2).
func scalarBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode {
		return false, false
	}
	switch n.ShortTag() {
	case "!!bool", "!!str":
	default:
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, field string) {
	applyDefaults(v)
	si := d.info(v.Type())
	extras := d.extras[v.Type()]
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.resolve(n.Content[i], field)
		if k == nil {
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, field, "keys must be strings")
			continue
		}
		name, val := k.Value, n.Content[i+1]
		if seen[name] {
			d.errorf(k, child(field, name), "duplicate key")
			continue
		}
		seen[name] = true
		if idx, ok := si.index[name]; ok {
			d.decode(val, v.Field(idx), child(field, name))
			continue
		}
		if rule, ok := extras[name]; ok {
			d.applyExtra(rule, k, val, child(field, name))
			continue
		}
		msg := "unknown field"
		if s := suggest(name, si.names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		d.errorf(k, child(field, name), "%s", msg)
	}
}

// decodeOptionList reads Chronos's [{key: k, value: v}] form of volume
// options into the map Marathon writes.
func (d *decoder) decodeOptionList(n *yaml.Node, v reflect.Value, field string) {
	m := VolumeOptions{}
	for i, it := range n.Content {
		var kv struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		}
		at := fmt.Sprintf("%s[%d]", field, i)
		d.decode(it, reflect.ValueOf(&kv).Elem(), at)
		if kv.Key == "" {
			d.errorf(it, at, "an option needs a key")
			continue
		}
		if _, dup := m[kv.Key]; dup {
			d.errorf(it, at, "duplicate option %q", kv.Key)
			continue
		}
		m[kv.Key] = kv.Value
	}
	v.Set(reflect.ValueOf(m))
}

// decodeConstraintList reads Marathon's ["field", "OPERATOR", "value"] form.
func (d *decoder) decodeConstraintList(n *yaml.Node, c *Constraint, field string) {
	if len(n.Content) < 2 || len(n.Content) > 3 {
		d.errorf(n, field, "a constraint is [field, operator] or [field, operator, value], found %d items", len(n.Content))
		return
	}
	parts := make([]string, len(n.Content))
	for i, it := range n.Content {
		it = d.resolve(it, field)
		if it == nil {
			return
		}
		if it.Kind != yaml.ScalarNode || isNull(it) {
			d.errorf(it, fmt.Sprintf("%s[%d]", field, i), "expected a string, found %s", kindName(it))
			return
		}
		parts[i] = it.Value
	}
	c.Field, c.Operator = parts[0], parts[1]
	if len(parts) == 3 {
		c.Value = parts[2]
	}
}

// applyDefaults sets the defaults Marathon and Chronos apply to fields that
// are absent, where zero is itself a meaningful value (instances: 0 suspends
// an app, retries: 0 means no retry). Defaults where zero means "unset" are
// applied later, by normalisation.
func applyDefaults(v reflect.Value) {
	switch p := v.Addr().Interface().(type) {
	case *App:
		p.Instances = 1
		p.CPUs = 1
		p.Mem = 128
		p.BackoffSeconds = 1
		p.BackoffFactor = 1.15
		p.MaxLaunchDelaySeconds = 300
		p.UpgradeStrategy = UpgradeStrategy{MinimumHealthCapacity: 1, MaximumOverCapacity: 1}
	case *HealthCheck:
		p.GracePeriodSeconds = 300
		p.IntervalSeconds = 60
		p.TimeoutSeconds = 20
		p.MaxConsecutiveFailures = 3
	case *Check:
		p.IntervalSeconds = defaultCheckInterval
		p.TimeoutSeconds = defaultCheckTimeout
		p.DelaySeconds = defaultCheckDelay
	case *ReadinessCheck:
		readinessDefaults(p)
	case *Job:
		p.Shell = true
		p.Retries = 2
	case *Artifact:
		p.Extract = true // Marathon's default; Chronos's JobArtifact keeps false
	case *Queue:
		p.MaxCapacity = 100
	}
}
