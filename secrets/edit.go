package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/berthops/berth/manifests"
)

// ParseValues reads key/values as a person writes them: a YAML (or JSON)
// mapping of key to string. Errors never quote values.
func ParseValues(data []byte) (map[string]string, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, errors.New("the values are not a YAML mapping of key: value (syntax error)")
	}
	if len(n.Content) == 0 {
		return nil, errors.New("no values")
	}
	m := n.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: expected a mapping of key: value", m.Line)
	}
	out := map[string]string{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || !validKey(k.Value) {
			return nil, fmt.Errorf("line %d: a key is letters, digits, '_', '-' and '.'", k.Line)
		}
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: %s: the value must be a string", v.Line, k.Value)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %s: duplicate key", k.Line, k.Value)
		}
		out[k.Value] = v.Value
	}
	if len(out) == 0 {
		return nil, errors.New("no values")
	}
	return out, nil
}

func validKey(k string) bool {
	if k == "" || len(k) > 253 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// FormatValues writes values for a person to edit: YAML, keys sorted,
// multi-line values as literal blocks.
func FormatValues(v Values) ([]byte, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v[k]}
		if bytes.ContainsRune([]byte(v[k]), '\n') {
			val.Style = yaml.LiteralStyle
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, val)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, errors.New("cannot write the values as YAML")
	}
	return b.Bytes(), nil
}

// ReadSecretFile reads the one Secret of a manifest file.
func ReadSecretFile(name string, data []byte) (manifests.Secret, error) {
	set, err := manifests.LoadBytes(name, data)
	if err != nil {
		return manifests.Secret{}, err
	}
	if len(set.Secrets) != 1 || len(set.Apps)+len(set.Jobs)+len(set.Templates)+len(set.Queues) > 0 {
		return manifests.Secret{}, fmt.Errorf("%s: expected exactly one Secret manifest, found %d Secrets and %d other objects", name, len(set.Secrets), len(set.Apps)+len(set.Jobs)+len(set.Templates)+len(set.Queues))
	}
	return set.Secrets[0], nil
}

// Edit decrypts s with id, lets edit change the values' text (FormatValues)
// and encrypts the result again to s's recipients (and to extra ones).
// changed is false, and s is returned as it was, when neither the values
// nor the recipients changed: re-encrypting would change the ciphertext,
// hence the version, and restart every task using it for nothing.
func Edit(s manifests.Secret, id *Identity, extra []string, edit func([]byte) ([]byte, error)) (out manifests.Secret, changed bool, err error) {
	old, err := Decrypt(s, id)
	if err != nil {
		return s, false, fmt.Errorf("open Secret %s: %w", s.ID, err)
	}
	text, err := FormatValues(old)
	if err != nil {
		return s, false, err
	}
	edited, err := edit(text)
	if err != nil {
		return s, false, err
	}
	values, err := ParseValues(edited)
	if err != nil {
		return s, false, fmt.Errorf("the edited values: %w", err)
	}
	recipients := append([]string(nil), s.Recipients...)
	for _, r := range extra {
		if !slices.Contains(recipients, r) {
			recipients = append(recipients, r)
		}
	}
	if equalValues(old, values) && len(recipients) == len(s.Recipients) {
		return s, false, nil
	}
	out, err = NewSecret(s.ID, recipients, values)
	if err != nil {
		return s, false, err
	}
	return out, true, nil
}

func equalValues(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
