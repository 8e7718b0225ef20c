package manifests

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDependencyApps(t *testing.T) {
	ids := []string{"/g/db", "/g/db/cache", "/g/dbx", "/g/web", "/other"}
	cases := []struct {
		app  App
		want []string
	}{
		{App{ID: "/g/web", Dependencies: []string{"/g/db"}}, []string{"/g/db", "/g/db/cache"}},
		{App{ID: "/g/web", Dependencies: []string{"/g"}}, []string{"/g/db", "/g/db/cache", "/g/dbx"}},
		{App{ID: "/g/db", Dependencies: []string{"/g/db"}}, []string{"/g/db/cache"}},
		{App{ID: "/g/web", Dependencies: []string{"/missing", "/other", "/other"}}, []string{"/other"}},
		{App{ID: "/g/web"}, nil},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, DependencyApps(&c.app, ids)); diff != "" {
			t.Errorf("%s depends on %v (-want +got):\n%s", c.app.ID, c.app.Dependencies, diff)
		}
	}
	if got := SortedAppIDs([]App{{ID: "/b"}, {ID: "/a"}}); got != nil {
		t.Errorf("no dependencies: ids %v, want none", got)
	}
}
