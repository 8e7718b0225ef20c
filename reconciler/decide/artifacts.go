package decide

import (
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/schedule"
)

// artifactSpecs carries an app's or job's fetch list into its task spec; the
// agent fetches it into the task's sandbox.
func artifactSpecs(as []manifests.Artifact) []cluster.Artifact {
	var out []cluster.Artifact
	for _, a := range as {
		out = append(out, cluster.Artifact{URI: a.URI, Extract: a.Extract, Executable: a.Executable, Cache: a.Cache, DestPath: a.DestPath})
	}
	return out
}

func jobArtifactSpecs(js []manifests.JobArtifact) []cluster.Artifact {
	as := make([]manifests.Artifact, len(js))
	for i, j := range js {
		as[i] = manifests.Artifact(j)
	}
	return artifactSpecs(as)
}

// jobTimeout is a job's run time limit (0: none). The manifest was
// validated, so a parse error cannot happen here; it reads as no limit.
func jobTimeout(j *manifests.Job) time.Duration {
	if j.Timeout == "" {
		return 0
	}
	d, err := schedule.ParseDuration(j.Timeout)
	if err != nil || d < 0 {
		return 0
	}
	return d
}
