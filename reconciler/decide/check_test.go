package decide

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

func loadApp(t *testing.T, js string) *manifests.App {
	t.Helper()
	set, err := manifests.Load(fstest.MapFS{"a.json": {Data: []byte(js)}})
	if err != nil {
		t.Fatal(err)
	}
	return &set.Apps[0]
}

// TestMesosContainerWithoutImageIsACommandApp: `container: {type: MESOS}`
// runs exactly what the same app without a container runs, so adding or
// removing it restarts nothing.
func TestMesosContainerWithoutImageIsACommandApp(t *testing.T) {
	plain := loadApp(t, `{"id": "/a", "cmd": "sleep 1000", "cpus": 0.5, "mem": 32}`)
	mesos := loadApp(t, `{"id": "/a", "cmd": "sleep 1000", "cpus": 0.5, "mem": 32, "container": {"type": "MESOS"}}`)
	a, b := AppTaskSpec(plain, nil, SpecOptions{}), AppTaskSpec(mesos, nil, SpecOptions{})
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("specs differ (-no container +MESOS):\n%s", diff)
	}
	if a.Image != DefaultShellImage || SpecVersion(a) != SpecVersion(b) {
		t.Errorf("image %q, versions %s and %s", a.Image, SpecVersion(a), SpecVersion(b))
	}
}

func TestCheckSpec(t *testing.T) {
	cases := []struct {
		check string
		want  *cluster.CheckSpec
	}{
		{`{"http": {"portIndex": 1, "path": "/ping", "scheme": "https"}, "intervalSeconds": 5, "timeoutSeconds": 2, "delaySeconds": 1}`,
			&cluster.CheckSpec{Protocol: "HTTPS", Path: "/ping", PortIndex: 1, Interval: 5 * time.Second, Timeout: 2 * time.Second, Delay: time.Second}},
		{`{"tcp": {"port": 8080}}`,
			&cluster.CheckSpec{Protocol: "TCP", Port: 8080, Interval: time.Minute, Timeout: 20 * time.Second, Delay: 15 * time.Second}},
		{`{"exec": {"command": {"argv": ["test", "-f", "/tmp/it's"]}}}`,
			&cluster.CheckSpec{Protocol: "COMMAND", Command: `'test' '-f' '/tmp/it'\''s'`, Interval: time.Minute, Timeout: 20 * time.Second, Delay: 15 * time.Second}},
	}
	for _, c := range cases {
		app := loadApp(t, `{"id": "/a", "cmd": "x", "portDefinitions": [{"port": 0}, {"port": 0}], "check": `+c.check+`}`)
		if diff := cmp.Diff(c.want, AppTaskSpec(app, nil, SpecOptions{}).Check); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.check, diff)
		}
	}
	if s := AppTaskSpec(loadApp(t, `{"id": "/a", "cmd": "x"}`), nil, SpecOptions{}); s.Check != nil {
		t.Errorf("an app without a check got %+v", s.Check)
	}
}
