package manifests

import "gopkg.in/yaml.v3"

// MarshalYAML writes a constraint the way Marathon users write it, as a
// one-line [field, OPERATOR, value] list; the loader reads that form and the
// {field, operator, value} object alike.
func (c Constraint) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range []string{c.Field, c.Operator, c.Value} {
		if s == "" && len(n.Content) >= 2 {
			break
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s})
	}
	return n, nil
}
