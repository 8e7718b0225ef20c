package decide

import (
	"iter"

	"github.com/berthops/berth/cluster"
)

// allTasks yields every task of the input: Tasks, then each of TaskParts.
// A decision only reads them.
func (in *Input) allTasks() iter.Seq[*cluster.Task] {
	return func(yield func(*cluster.Task) bool) {
		for i := range in.Tasks {
			if !yield(&in.Tasks[i]) {
				return
			}
		}
		for _, p := range in.TaskParts {
			for i := range p {
				if !yield(&p[i]) {
					return
				}
			}
		}
	}
}

// taskCount is how many tasks allTasks yields.
func (in *Input) taskCount() int {
	n := len(in.Tasks)
	for _, p := range in.TaskParts {
		n += len(p)
	}
	return n
}

// flatten joins TaskParts into a Tasks of the input's own, for what
// changes tasks in place (Apply, PlayAgents, a simulation): the parts are
// shared with a cache and are never written.
func (in *Input) flatten() {
	if len(in.TaskParts) == 0 {
		return
	}
	all := make([]cluster.Task, 0, in.taskCount())
	all = append(all, in.Tasks...)
	for _, p := range in.TaskParts {
		all = append(all, p...)
	}
	in.Tasks, in.TaskParts = all, nil
}
