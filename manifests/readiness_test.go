package manifests

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// TestReadinessChecksPeerFiles: Marathon's own apps with readiness checks
// load, with Marathon's defaults filled in.
func TestReadinessChecksPeerFiles(t *testing.T) {
	dir := "../../../shared/reference/peer/marathon/apps/"
	if _, err := os.Stat(dir); err != nil {
		dir = "/work/shared/reference/peer/marathon/apps/"
	}
	for _, name := range []string{"system-app-with-https-readiness-checks.json", "system-fake-framework.json", "system-readiness-and-health-app.json"} {
		data, err := os.ReadFile(dir + name)
		if err != nil {
			t.Skipf("peer corpus not here: %v", err)
		}
		set, err := Load(fstest.MapFS{name: {Data: data}})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(set.Apps) != 1 || len(set.Apps[0].ReadinessChecks) != 1 {
			t.Errorf("%s: want one app with one readiness check, got %+v", name, set.Apps)
		}
	}
}

func TestReadinessCheckDefaults(t *testing.T) {
	set, err := Load(fstest.MapFS{"a.yaml": {Data: []byte(`kind: App
id: /a
cmd: serve
portDefinitions: [{port: 0, name: http-api}]
readinessChecks: [{protocol: https}]
`)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []ReadinessCheck{{Name: "readinessCheck", Protocol: "HTTPS", Path: "/", PortName: "http-api",
		IntervalSeconds: 30, TimeoutSeconds: 10, HTTPStatusCodesForReady: []int{200}}}
	if diff := cmp.Diff(want, set.Apps[0].ReadinessChecks); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if got := set.Apps[0].PortIndex("http-api"); got != 0 {
		t.Errorf("PortIndex(http-api) = %d", got)
	}
}

func TestReadinessCheckErrors(t *testing.T) {
	_, err := Load(fstest.MapFS{"apps/r.yaml": {Data: []byte(`kind: App
id: /r
cmd: serve
portDefinitions: [{port: 0, name: api}]
readinessChecks:
  - {name: a, protocol: TCP, path: ready, portName: web, intervalSeconds: 5, timeoutSeconds: 5, httpStatusCodesForReady: [42]}
  - {name: a, portName: api, httpStatusCodesForReady: []}
`)}})
	if err == nil {
		t.Fatal("loaded")
	}
	got := err.Error()
	for _, want := range []string{
		"apps/r.yaml:6:25: readinessChecks[0].protocol: unknown protocol \"TCP\": expected HTTP or HTTPS",
		"readinessChecks[0].path: must start with /",
		"readinessChecks[0].portName: the app has no port named \"web\"",
		"readinessChecks[0].timeoutSeconds: must be at least 1 and smaller than intervalSeconds (5), found 5",
		"readinessChecks[0].httpStatusCodesForReady[0]: must be between 100 and 999, found 42",
		"readinessChecks[1].name: another readiness check is named \"a\"",
		"readinessChecks[1].httpStatusCodesForReady: name at least one status code",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestRegistratorValues(t *testing.T) {
	_, err := Load(fstest.MapFS{"apps/reg.yaml": {Data: []byte(`kind: App
id: /reg
cmd: serve
env: {SERVICE_CHECK_INTERVAL: ten, SERVICE_80_CHECK_TIMEOUT: 5s, SERVICE_NAME: web}
labels: {SERVICE_CHECK_INITIAL_STATUS: green}
`)}})
	if err == nil {
		t.Fatal("loaded")
	}
	for _, want := range []string{
		`apps/reg.yaml:4:31: env.SERVICE_CHECK_INTERVAL: "ten" is not a positive duration`,
		`labels.SERVICE_CHECK_INITIAL_STATUS: unknown initial status "green"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "SERVICE_80_CHECK_TIMEOUT") || strings.Contains(err.Error(), "SERVICE_NAME") {
		t.Errorf("valid values refused:\n%v", err)
	}
}
