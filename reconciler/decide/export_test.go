package decide

// MemoSize is how many apps' steps m keeps, for tests that must show the
// memo was used.
func MemoSize(m *Memo) int {
	if m == nil {
		return 0
	}
	return len(m.apps)
}
