package manifests

import (
	"slices"
	"sort"
	"strings"
)

// DependencyApps expands an app's dependencies into the apps its deployment
// waits for. A dependency names an app, or a group: every app under that
// path (Marathon's group dependencies, which loading keeps on each app of
// the group). The app itself is left out, so an app inside a group its own
// group depends on never waits for itself. ids are every declared app's id,
// sorted, so each group is one binary search.
func DependencyApps(app *App, ids []string) []string {
	if len(app.Dependencies) == 0 {
		return nil
	}
	var out []string
	add := func(id string) {
		if id != app.ID {
			out = append(out, id)
		}
	}
	for _, dep := range app.Dependencies {
		if _, found := slices.BinarySearch(ids, dep); found {
			add(dep)
		}
		prefix := strings.TrimSuffix(dep, "/") + "/"
		for j := sort.SearchStrings(ids, prefix); j < len(ids) && strings.HasPrefix(ids[j], prefix); j++ {
			add(ids[j])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SortedAppIDs lists the ids of apps, sorted, for DependencyApps; nil when
// no app has dependencies, so a caller without any pays nothing.
func SortedAppIDs(apps []App) []string {
	any := false
	for i := range apps {
		any = any || len(apps[i].Dependencies) > 0
	}
	if !any {
		return nil
	}
	ids := make([]string, len(apps))
	for i := range apps {
		ids[i] = apps[i].ID
	}
	slices.Sort(ids)
	return ids
}
