package templates

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	yaml "gopkg.in/yaml.v2"
)

// The helpers below are consul-template's pure functions. Argument order is
// its order (the piped value last), and so are edge cases: empty strings parse
// to zero values, split trims, toJSON trims.

func base64Decode(s string) (string, error) {
	v, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("base64Decode: %w", err)
	}
	return string(v), nil
}

func base64Encode(s string) (string, error) {
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func base64URLDecode(s string) (string, error) {
	v, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("base64URLDecode: %w", err)
	}
	return string(v), nil
}

func base64URLEncode(s string) (string, error) {
	return base64.URLEncoding.EncodeToString([]byte(s)), nil
}

// byKey groups KV pairs by their first path segment, stripping it from Key;
// pairs with nothing after the segment are dropped.
func byKey(pairs []*KeyPair) (map[string]map[string]*KeyPair, error) {
	m := make(map[string]map[string]*KeyPair)
	for _, pair := range pairs {
		top, rest, _ := strings.Cut(pair.Key, "/")
		if rest == "" {
			continue
		}
		if m[top] == nil {
			m[top] = make(map[string]*KeyPair)
		}
		p := *pair
		p.Key = rest
		m[top][rest] = &p
	}
	return m, nil
}

// byTag groups services or catalog entries by each of their tags.
func byTag(in any) (map[string][]any, error) {
	m := make(map[string][]any)
	switch typed := in.(type) {
	case nil:
	case []*CatalogSnippet:
		for _, s := range typed {
			for _, t := range s.Tags {
				m[t] = append(m[t], s)
			}
		}
	case []*HealthService:
		for _, s := range typed {
			for _, t := range s.Tags {
				m[t] = append(m[t], s)
			}
		}
	default:
		return nil, fmt.Errorf("byTag: wrong argument type %T", in)
	}
	return m, nil
}

// byPort groups services by port.
func byPort(in any) (map[int][]any, error) {
	m := make(map[int][]any)
	switch typed := in.(type) {
	case nil:
	case []*HealthService:
		for _, s := range typed {
			m[s.Port] = append(m[s.Port], s)
		}
	default:
		return nil, fmt.Errorf("byPort: wrong argument type %T", in)
	}
	return m, nil
}

// byMeta groups services by the values of one or more ServiceMeta keys
// ("zone,weight|int"); a missing value groups under "_no_<key>_", a missing
// "|int" value under 0, and ints are zero-padded so groups sort numerically.
func byMeta(meta string, services []*HealthService) (map[string][]*HealthService, error) {
	unsafe := func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}
	normalize := func(x string) string {
		var b strings.Builder
		for _, r := range x {
			if unsafe(r) {
				b.WriteByte('_')
			} else {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	valueOf := func(m map[string]string, key string) string {
		real := strings.TrimSuffix(key, "|int")
		if v := m[real]; v != "" {
			return v
		}
		if strings.HasSuffix(key, "|int") {
			return "0"
		}
		return "_no_" + real + "_"
	}
	metas := strings.Split(meta, ",")
	groups := make(map[string][]*HealthService)
	for _, s := range services {
		parts := make([]string, 0, len(metas))
		for _, key := range metas {
			v := valueOf(s.ServiceMeta, key)
			if strings.HasSuffix(key, "|int") {
				i, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("byMeta: cannot parse %v as number: %w", v, err)
				}
				v = fmt.Sprintf("%05d", i)
			}
			parts = append(parts, normalize(v))
		}
		k := strings.Join(parts, "_")
		groups[k] = append(groups[k], s)
	}
	return groups, nil
}

// contains is `in` with its arguments swapped, for pipes: `.Tags | contains "x"`.
func contains(v, l any) (bool, error) { return in(l, v) }

// containsSome builds containsAll/Any/None/NotAll: retTrue is the answer when
// the loop finishes, invert flips the membership test that ends it early.
func containsSome(retTrue, invert bool) func([]any, any) (bool, error) {
	return func(v []any, l any) (bool, error) {
		for _, x := range v {
			if ok, _ := in(l, x); ok != invert {
				return !retTrue, nil
			}
		}
		return retTrue, nil
	}
}

// in reports whether v is an element of the list l, or a substring of the
// string l. Integers compare across int widths, floats across float widths,
// strings only with strings of the same type.
func in(l, v any) (bool, error) {
	lv := reflect.ValueOf(l)
	vv := reflect.ValueOf(v)
	switch lv.Kind() {
	case reflect.Array, reflect.Slice:
		for i := 0; i < lv.Len(); i++ {
			e := lv.Index(i)
			for e.Kind() == reflect.Interface && !e.IsNil() {
				e = e.Elem()
			}
			switch e.Kind() {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				switch vv.Kind() {
				case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
					if vv.Int() == e.Int() {
						return true, nil
					}
				}
			case reflect.Float32, reflect.Float64:
				switch vv.Kind() {
				case reflect.Float32, reflect.Float64:
					if vv.Float() == e.Float() {
						return true, nil
					}
				}
			case reflect.String:
				if vv.IsValid() && vv.Type() == e.Type() && vv.String() == e.String() {
					return true, nil
				}
			}
		}
	case reflect.String:
		if vv.IsValid() && vv.Type() == lv.Type() && strings.Contains(lv.String(), vv.String()) {
			return true, nil
		}
	}
	return false, nil
}

// explode turns KV pairs into nested maps keyed by path segment.
func explode(pairs []*KeyPair) (map[string]any, error) {
	m := make(map[string]any)
	for _, pair := range pairs {
		if err := explodeInto(m, pair.Key, pair.Value, pair.Key); err != nil {
			return nil, fmt.Errorf("explode: %w", err)
		}
	}
	return m, nil
}

func explodeInto(m map[string]any, k string, v any, p string) error {
	for {
		top, rest, nested := strings.Cut(k, "/")
		if !nested {
			if k != "" {
				m[k] = v
			}
			return nil
		}
		if _, ok := m[top]; !ok {
			m[top] = make(map[string]any)
		}
		next, ok := m[top].(map[string]any)
		if !ok {
			return fmt.Errorf("not a map: %q: %q already has value %q", p, top, m[top])
		}
		m, k, p = next, rest, k
	}
}

// indent prefixes every non-empty line start with spaces.
func indent(spaces int, s string) (string, error) {
	if spaces < 0 {
		return "", fmt.Errorf("indent value must be a positive integer")
	}
	prefix := strings.Repeat(" ", spaces)
	var b strings.Builder
	lineStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if lineStart && c != '\n' {
			b.WriteString(prefix)
		}
		b.WriteByte(c)
		lineStart = c == '\n'
	}
	return b.String(), nil
}

// maxLoop bounds `loop` so a template cannot ask for unbounded memory.
const maxLoop = 1 << 20

// loop returns the integers [0,n) or [start,stop). consul-template returns a
// channel fed by a goroutine; a slice ranges the same and cannot leak.
func loop(args ...any) ([]int64, error) {
	to64 := func(i any) (int64, error) {
		v := reflect.ValueOf(i)
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return v.Int(), nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return int64(v.Uint()), nil
		case reflect.String:
			return parseInt(v.String())
		}
		return 0, fmt.Errorf("loop: bad argument type: %T", i)
	}
	var a, b any
	switch len(args) {
	case 1:
		a, b = 0, args[0]
	case 2:
		a, b = args[0], args[1]
	default:
		return nil, fmt.Errorf("loop: wrong number of arguments, expected 1 or 2, but got %d", len(args))
	}
	start, err := to64(a)
	if err != nil {
		return nil, err
	}
	stop, err := to64(b)
	if err != nil {
		return nil, err
	}
	if stop <= start {
		return nil, nil
	}
	if uint64(stop-start) > maxLoop {
		return nil, fmt.Errorf("loop: %d iterations is more than the limit of %d", uint64(stop-start), maxLoop)
	}
	out := make([]int64, 0, stop-start)
	for i := start; i < stop; i++ {
		out = append(out, i)
	}
	return out, nil
}

func join(sep string, a []string) (string, error) { return strings.Join(a, sep), nil }

func trim(cutset, s string) (string, error)       { return strings.Trim(s, cutset), nil }
func trimPrefix(prefix, s string) (string, error) { return strings.TrimPrefix(s, prefix), nil }
func trimSuffix(suffix, s string) (string, error) { return strings.TrimSuffix(s, suffix), nil }
func trimSpace(s string) (string, error)          { return strings.TrimSpace(s), nil }

func parseBool(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("parseBool: %w", err)
	}
	return v, nil
}

func parseFloat(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("parseFloat: %w", err)
	}
	return v, nil
}

func parseInt(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parseInt: %w", err)
	}
	return v, nil
}

func parseUint(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parseUint: %w", err)
	}
	return v, nil
}

func parseJSON(s string) (any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	var data any
	if err := json.Unmarshal([]byte(s), &data); err != nil {
		return nil, fmt.Errorf("parseJSON: %w", err)
	}
	return data, nil
}

func parseYAML(s string) (any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	var data any
	if err := yaml.Unmarshal([]byte(s), &data); err != nil {
		return nil, fmt.Errorf("parseYAML: %w", err)
	}
	return data, nil
}

func replaceAll(f, t, s string) (string, error) { return strings.ReplaceAll(s, f, t), nil }

func regexReplaceAll(re, repl, s string) (string, error) {
	compiled, err := regexp.Compile(re)
	if err != nil {
		return "", fmt.Errorf("regexReplaceAll: %w", err)
	}
	return compiled.ReplaceAllString(s, repl), nil
}

func regexMatch(re, s string) (bool, error) {
	compiled, err := regexp.Compile(re)
	if err != nil {
		return false, fmt.Errorf("regexMatch: %w", err)
	}
	return compiled.MatchString(s), nil
}

func split(sep, s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []string{}, nil
	}
	return strings.Split(s, sep), nil
}

func splitToMap(sep1, sep2, s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	m := make(map[string]string)
	if s == "" {
		return m, nil
	}
	for _, item := range strings.Split(s, sep1) {
		if k, v, ok := strings.Cut(item, sep2); ok {
			m[k] = v
		}
	}
	return m, nil
}

func toLower(s string) (string, error) { return strings.ToLower(s), nil }
func toUpper(s string) (string, error) { return strings.ToUpper(s), nil }

func toTitle(s string) (string, error) {
	return cases.Title(language.Und, cases.NoLower).String(s), nil
}

func toJSON(v any) (string, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("toJSON: %w", err)
	}
	return string(bytes.TrimSpace(out)), nil
}

func toJSONPretty(v any) (string, error) {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("toJSONPretty: %w", err)
	}
	return string(bytes.TrimSpace(out)), nil
}

func toUnescapedJSON(v any) (string, error) {
	return unescapedJSON(v, "")
}

func toUnescapedJSONPretty(v any) (string, error) {
	return unescapedJSON(v, "  ")
}

func unescapedJSON(v any, indent string) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("toUnescapedJSON: %w", err)
	}
	return strings.TrimRight(buf.String(), "\r\n"), nil
}

// toYAML uses yaml.v2, as consul-template does: v3 indents and quotes
// differently, and the output must be byte-identical.
func toYAML(v any) (out string, err error) {
	// yaml.v2 panics on some values (functions, channels); a template must
	// get an error instead.
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("toYAML: %v", r)
		}
	}()
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("toYAML: %w", err)
	}
	return string(bytes.TrimSpace(b)), nil
}

func sha256Hex(s string) (string, error) {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:]), nil
}

func md5sum(s string) (string, error) {
	return fmt.Sprintf("%x", md5.Sum([]byte(s))), nil
}

func hmacSHA256Hex(message, key string) (string, error) {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(message))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sortedKeys is used where map iteration order would leak into output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
