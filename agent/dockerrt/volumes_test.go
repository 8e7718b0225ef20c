package dockerrt

import (
	"strings"
	"testing"

	"github.com/berthops/berth/cluster"
)

func residentAssignment() cluster.Assignment {
	a := appAssignment(cluster.TaskSpec{Image: "postgres:16", Network: "HOST",
		Volumes: []cluster.VolumeSpec{
			{ContainerPath: "/mnt/mesos/sandbox/pgdata", Persistent: true, Name: "berth-db.1-pgdata"},
			{ContainerPath: "/var/lib/postgresql/data", Persistent: true, Name: "berth-db.1-pgdata"},
			{ContainerPath: "/shared", ReadOnly: true, Name: "shared", Driver: "rexray", DriverOptions: map[string]string{"size": "5"}},
			{HostPath: "/srv/conf", ContainerPath: "/etc/conf", ReadOnly: true},
		}})
	a.Slot = "db.1"
	return a
}

func TestBuildLaunchNamedVolumes(t *testing.T) {
	l, err := buildLaunch(testNode, residentAssignment(), "", launchOptions{ExtraLabels: map[string]string{"berth.test": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "launch/resident-external", l)
}

func TestBuildLaunchNamedVolumeErrors(t *testing.T) {
	for name, tt := range map[string]struct {
		v    cluster.VolumeSpec
		want string
	}{
		"no slot":         {cluster.VolumeSpec{ContainerPath: "/d", Persistent: true}, "has no slot"},
		"host and name":   {cluster.VolumeSpec{ContainerPath: "/d", Name: "v", HostPath: "/etc"}, "no hostPath"},
		"relative":        {cluster.VolumeSpec{ContainerPath: "d", Name: "v"}, "must be absolute"},
		"slash in name":   {cluster.VolumeSpec{ContainerPath: "/d", Name: "../v"}, "must not contain"},
		"local options":   {cluster.VolumeSpec{ContainerPath: "/d", Name: "v", Driver: "local", DriverOptions: map[string]string{"device": "/etc"}}, "local volume driver"},
		"persistent opts": {cluster.VolumeSpec{ContainerPath: "/d", Name: "v", Persistent: true, Driver: "rexray"}, "no driver"},
	} {
		_, err := buildLaunch(testNode, appAssignment(cluster.TaskSpec{Image: "x", Volumes: []cluster.VolumeSpec{tt.v}}), "", launchOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", name, err, tt.want)
		}
	}
	twice := residentAssignment()
	twice.Spec.Volumes[1].ContainerPath = twice.Spec.Volumes[0].ContainerPath
	if _, err := buildLaunch(testNode, twice, "", launchOptions{}); err == nil || !strings.Contains(err.Error(), "mounted twice") {
		t.Errorf("one path mounted twice: %v", err)
	}
}
