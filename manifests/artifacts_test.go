package manifests

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestURIsBecomeFetchWithMarathonsExtractRule(t *testing.T) {
	set, err := LoadBytes("app.json", []byte(`{"id": "/tomcat", "cmd": "./run", "uris": [
		"http://example.com/apache-tomcat-7.0.69.tar.gz", "https://example.com/Calendar.war", "file:///srv/app.zip"]}`))
	if err != nil {
		t.Fatal(err)
	}
	a := set.Apps[0]
	want := []Artifact{
		{URI: "http://example.com/apache-tomcat-7.0.69.tar.gz", Extract: true},
		{URI: "https://example.com/Calendar.war"},
		{URI: "file:///srv/app.zip", Extract: true},
	}
	if diff := cmp.Diff(want, a.Fetch); diff != "" || a.URIs != nil {
		t.Errorf("fetch (-want +got):\n%s\nuris left: %v", diff, a.URIs)
	}
}

func TestFetchDefaults(t *testing.T) {
	set, err := LoadBytes("all.yaml", []byte(`
id: /pinger
cmd: python3 pinger.py
fetch:
  - uri: http://example.com/pinger.py
  - {uri: "https://example.com/a.zip", extract: false, executable: true, cache: true, destPath: lib/b.zip}
container:
  docker: {image: python}
  volumes: [{hostPath: pinger.py, containerPath: /opt/pinger.py, mode: RO}]
---
kind: Job
name: etl
command: ./etl.sh
schedule: R/2026-01-01T00:00:00Z/P1D
timeout: PT30M
fetch: [{uri: "https://example.com/etl.tgz"}]
---
kind: Job
name: etl-uris
command: ./etl.sh
parents: [etl]
uris: ["https://example.com/etl.tgz", "https://example.com/etl.sh"]
`))
	if err != nil {
		t.Fatal(err)
	}
	app := set.Apps[0]
	wantApp := []Artifact{{URI: "http://example.com/pinger.py", Extract: true},
		{URI: "https://example.com/a.zip", Executable: true, Cache: true, DestPath: "lib/b.zip"}}
	if diff := cmp.Diff(wantApp, app.Fetch); diff != "" {
		t.Errorf("app fetch (-want +got):\n%s", diff)
	}
	// Chronos's Fetch defaults extract to false; its uris follow the
	// archive rule, as Mesos extracted them.
	jobs := map[string]Job{}
	for _, j := range set.Jobs {
		jobs[j.Name] = j
	}
	if diff := cmp.Diff([]JobArtifact{{URI: "https://example.com/etl.tgz"}}, jobs["etl"].Fetch); diff != "" {
		t.Errorf("job fetch (-want +got):\n%s", diff)
	}
	if jobs["etl"].Timeout != "PT30M" {
		t.Errorf("timeout = %q", jobs["etl"].Timeout)
	}
	want := []JobArtifact{{URI: "https://example.com/etl.tgz", Extract: true}, {URI: "https://example.com/etl.sh"}}
	if diff := cmp.Diff(want, jobs["etl-uris"].Fetch); diff != "" {
		t.Errorf("job uris (-want +got):\n%s", diff)
	}
}
