package rollout

import (
	"slices"
	"strings"
)

// Marathon deploys apps that depend on others in order: an app's restart or
// scale-up waits until the apps it depends on have finished theirs. The
// order of the steps is reconciler/plan's; the functions here let a
// level-triggered loop honour it on every pass without keeping a plan.

// Deployed reports whether the app this decision was made for has finished
// deploying, the point its dependents wait for: no task of another version
// is left and every declared instance is healthy. Unlike Done it does not
// wait for stopped tasks to end or lost agents to be expunged.
func (d Decision) Deployed() bool {
	return !d.Rolling && d.Counts.CurrentHealthy >= d.Instances
}

// Waiting returns, sorted, the dependencies of an app that have not finished
// deploying. deployed holds Deployed for every declared app; a dependency
// missing from it is not waited for (validation reports unknown ones).
func Waiting(dependencies []string, deployed map[string]bool) []string {
	var out []string
	for _, dep := range dependencies {
		if done, declared := deployed[dep]; declared && !done {
			out = append(out, dep)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Hold keeps from a decision only what heals the app, for an app whose
// deployment waits for its dependencies: ended and expunged tasks are still
// forgotten and tasks failing their health checks or lost with their agent
// still killed, but no new instance starts and no task is stopped for a
// rollout or scale-down.
func Hold(d Decision) Decision {
	d.Start = 0
	d.Kill = slices.DeleteFunc(slices.Clone(d.Kill), func(k Kill) bool {
		return k.Reason == ReasonUpgrade || k.Reason == ReasonScaleDown
	})
	d.Done = false
	d.Held = true
	return d
}

// Gate applies dependency order to one app: while its own deployment is in
// progress (OutOfSync) and waiting lists dependencies that have not
// finished, the decision is held and the status says what it waits for.
// An app in sync is never held, so healing never waits for another app.
func Gate(d Decision, st Status, waiting []string) (Decision, Status) {
	if st.Sync != OutOfSync || len(waiting) == 0 {
		return d, st
	}
	st.Health = Progressing
	st.Message += ", waiting for " + strings.Join(waiting, ", ")
	return Hold(d), st
}
