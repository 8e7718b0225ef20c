package templates

// Snapshot is a fixed set of answers: a Recaller for tests, for `--once`
// renders and for the runner's view of the latest data.
type Snapshot map[string]any

// Recall implements Recaller.
func (s Snapshot) Recall(q Query) (any, bool) {
	v, ok := s[q.String()]
	return v, ok
}

// Set records the answer to q.
func (s Snapshot) Set(q Query, v any) { s[q.String()] = v }
