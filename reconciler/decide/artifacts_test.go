package decide

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

func TestSpecsCarryFetchAndTimeout(t *testing.T) {
	app := &manifests.App{ID: "/a", Cmd: "./run", Fetch: []manifests.Artifact{{URI: "http://x/a.tgz", Extract: true, Cache: true}}}
	s := AppTaskSpec(app, nil, SpecOptions{})
	if diff := cmp.Diff([]cluster.Artifact{{URI: "http://x/a.tgz", Extract: true, Cache: true}}, s.Fetch); diff != "" {
		t.Errorf("app fetch (-want +got):\n%s", diff)
	}
	job := &manifests.Job{Name: "j", Command: "x", Shell: true, Timeout: "PT1M30S",
		Fetch: []manifests.JobArtifact{{URI: "file:///srv/x.sh", Executable: true, DestPath: "bin/x"}}}
	js := JobTaskSpec(job, SpecOptions{})
	if js.Timeout != 90*time.Second {
		t.Errorf("timeout = %v, want 1m30s", js.Timeout)
	}
	if diff := cmp.Diff([]cluster.Artifact{{URI: "file:///srv/x.sh", Executable: true, DestPath: "bin/x"}}, js.Fetch); diff != "" {
		t.Errorf("job fetch (-want +got):\n%s", diff)
	}
	// A change of artifacts is a new version of the task (a restart).
	app2 := *app
	app2.Fetch = []manifests.Artifact{{URI: "http://x/b.tgz", Extract: true}}
	if SpecVersion(s) == SpecVersion(AppTaskSpec(&app2, nil, SpecOptions{})) {
		t.Error("changing fetch kept the task version")
	}
}
