package manifests

import (
	"testing"
	"testing/fstest"
)

func TestLoadSmoke(t *testing.T) {
	fsys := fstest.MapFS{
		"apps/web.yaml":   {Data: []byte("kind: App\nid: web/nginx\ncontainer:\n  docker:\n    image: nginx\n    network: BRIDGE\n    portMappings:\n      - containerPort: 80\n")},
		"jobs/daily.json": {Data: []byte(`{"name": "daily", "command": "true", "schedule": "R/2026-01-01T02:00:00Z/P1D", "cpus": "0.5"}`)},
	}
	set, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	a := set.App("/web/nginx")
	if a == nil || a.Networks[0].Mode != ModeBridge || len(a.Container.PortMappings) != 1 || a.Container.PortMappings[0].Protocol != "tcp" {
		t.Fatalf("app not normalised: %+v", a)
	}
	if j := set.Job("daily"); j == nil || j.CPUs != 0.5 || !j.Shell || j.Retries != 2 {
		t.Fatalf("job not normalised: %+v", j)
	}
}
