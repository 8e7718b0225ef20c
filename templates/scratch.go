package templates

import (
	"fmt"
	"sort"
)

// Scratch is a template's per-render key/value notebook (`scratch.Set`,
// `scratch.Get`, ...). A fresh one is made for every execution, so nothing
// leaks between renders or between templates.
type Scratch struct {
	values map[string]any
}

// Key reports whether k is set.
func (s *Scratch) Key(k string) bool {
	_, ok := s.values[k]
	return ok
}

// Get returns k's value, nil when unset.
func (s *Scratch) Get(k string) any { return s.values[k] }

// Set stores v under k, overwriting.
func (s *Scratch) Set(k string, v any) string {
	s.init()
	s.values[k] = v
	return ""
}

// SetX stores v under k only if k is unset.
func (s *Scratch) SetX(k string, v any) string {
	s.init()
	if _, ok := s.values[k]; !ok {
		s.values[k] = v
	}
	return ""
}

// MapSet stores v under mk in the map named k, overwriting.
func (s *Scratch) MapSet(k, mk string, v any) (string, error) { return s.mapSet(k, mk, v, true) }

// MapSetX stores v under mk in the map named k only if mk is unset.
func (s *Scratch) MapSetX(k, mk string, v any) (string, error) { return s.mapSet(k, mk, v, false) }

func (s *Scratch) mapSet(k, mk string, v any, overwrite bool) (string, error) {
	s.init()
	if _, ok := s.values[k]; !ok {
		s.values[k] = make(map[string]any)
	}
	typed, ok := s.values[k].(map[string]any)
	if !ok {
		return "", fmt.Errorf("%q is not a map", k)
	}
	if _, exists := typed[mk]; overwrite || !exists {
		typed[mk] = v
	}
	return "", nil
}

// MapValues returns the values of the map named k, ordered by their keys.
func (s *Scratch) MapValues(k string) ([]any, error) {
	if s.values == nil {
		return nil, nil
	}
	typed, ok := s.values[k].(map[string]any)
	if !ok {
		return nil, nil
	}
	keys := make([]string, 0, len(typed))
	for key := range typed {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, key := range keys {
		out[i] = typed[key]
	}
	return out, nil
}

func (s *Scratch) init() {
	if s.values == nil {
		s.values = make(map[string]any)
	}
}
