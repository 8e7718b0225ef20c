package manifests

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestMesosFieldsRefusedWithPlace: every refusal of the Mesos-containerizer
// fields names the file, line, column and field.
func TestMesosFieldsRefusedWithPlace(t *testing.T) {
	cases := []struct {
		name, app, want string
	}{
		{"MESOS docker without image", `{"id": "a", "cmd": "x",
 "container": {"type": "MESOS", "docker": {"forcePull": true}}}`,
			`a.json:2:43: container.docker.image: a MESOS container's docker needs an image`},
		{"two kinds of check", `{"id": "a", "cmd": "x",
 "check": {"http": {}, "tcp": {}}}`, `a.json:2:11: check: a check is exactly one of http, tcp and exec, found 2`},
		{"no kind of check", `{"id": "a", "cmd": "x",
 "check": {"intervalSeconds": 5}}`, `a.json:2:11: check: a check is exactly one of http, tcp and exec, found 0`},
		{"check portIndex", `{"id": "a", "cmd": "x",
 "check": {"tcp": {"portIndex": 3}}}`, `a.json:2:33: check.tcp.portIndex: the app has 1 port(s), so portIndex 3 does not exist`},
		{"check scheme", `{"id": "a", "cmd": "x",
 "check": {"http": {"scheme": "ftp"}}}`, `a.json:2:31: check.http.scheme: unknown scheme "FTP": expected HTTP or HTTPS`},
		{"check path", `{"id": "a", "cmd": "x",
 "check": {"http": {"path": "ping"}}}`, `a.json:2:29: check.http.path: must start with /, found "ping"`},
		{"exec shell and argv", `{"id": "a", "cmd": "x",
 "check": {"exec": {"command": {"shell": "true", "argv": ["true"]}}}}`, `a.json:2:32: check.exec.command: set shell or argv, not both`},
		{"exec without command", `{"id": "a", "cmd": "x",
 "check": {"exec": {"command": {}}}}`, `a.json:2:32: check.exec.command: required: shell (a command line) or argv`},
		{"check interval", `{"id": "a", "cmd": "x",
 "check": {"tcp": {}, "intervalSeconds": 0}}`, `a.json:2:42: check.intervalSeconds: must be at least 1`},
		{"check unknown field", `{"id": "a", "cmd": "x",
 "check": {"tcp": {}, "gracePeriodSeconds": 3}}`, `a.json:2:23: check.gracePeriodSeconds: unknown field`},
		{"ipAddress and networks", `{"id": "a", "cmd": "x", "networks": [{"mode": "container", "name": "n"}],
 "ipAddress": {"networkName": "n"}}`, `a.json:2:15: ipAddress: set networks or ipAddress (its older form), not both`},
		{"ipAddress on a bridge", `{"id": "a", "container": {"docker": {"image": "i",
 "network": "BRIDGE"}}, "ipAddress": {"networkName": "n"}}`, `a.json:2:13: container.docker.network: ipAddress asks for a task's own IP on a USER network, but container.docker.network is "BRIDGE"`},
		{"ipAddress without a name", `{"id": "a", "cmd": "x",
 "ipAddress": {}}`, `a.json:2:15: ipAddress.networkName: required: the Docker network the task joins`},
		{"discovery ports and port mappings", `{"id": "a", "container": {"docker": {"image": "i"},
 "portMappings": [{"containerPort": 80}]}, "ipAddress": {"networkName": "n", "discovery": {"ports": [{"number": 80}]}}}`,
			`a.json:2:101: ipAddress.discovery.ports: with ipAddress.discovery.ports the ports are the task's own`},
		{"pullConfig without a secret", `{"id": "a",
 "container": {"type": "MESOS", "docker": {"image": "i", "pullConfig": {}}}}`,
			`a.json:2:72: container.docker.pullConfig.secret: required: the name of a secret`},
		{"pullConfig secret not declared", `{"id": "a",
 "container": {"type": "MESOS", "docker": {"image": "i", "pullConfig": {"secret": "creds"}}}}`,
			`a.json:2:83: container.docker.pullConfig.secret: secret "creds" is not declared in the app's secrets`},
		{"deprecated credential", `{"id": "a",
 "container": {"docker": {"image": "i", "credential": {"principal": "p"}}}}`,
			`a.json:2:41: container.docker.credential: credential (deprecated since Marathon 1.5)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{"a.json": {Data: []byte(c.app)}})
			if err == nil {
				t.Fatalf("loaded; want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, c.want)
			}
		})
	}
}

// TestMesosFormsAreTheNewerOnes: ipAddress, forcePull and a MESOS container
// with an image load to the same app as the forms Berth writes.
func TestMesosFormsAreTheNewerOnes(t *testing.T) {
	pairs := []struct{ name, older, newer string }{
		{"ipAddress", `{"id": "a", "cmd": "serve", "ipAddress": {"networkName": "back", "labels": {"l": "v"},
  "groups": ["g"], "discovery": {"ports": [{"number": 7777, "name": "p", "protocol": "udp"}]}}}`,
			`{"id": "a", "cmd": "serve", "networks": [{"mode": "container", "name": "back", "labels": {"l": "v"}}],
  "container": {"type": "MESOS", "portMappings": [{"containerPort": 7777, "name": "p", "protocol": "udp"}]}}`},
		{"ipAddress with docker USER", `{"id": "a", "container": {"docker": {"image": "i", "network": "USER"}},
  "ipAddress": {"networkName": "back"}}`,
			`{"id": "a", "container": {"docker": {"image": "i"}}, "networks": [{"mode": "container", "name": "back"}]}`},
		{"forcePull", `{"id": "a", "container": {"type": "MESOS", "docker": {"image": "i", "forcePull": true}}}`,
			`{"id": "a", "container": {"type": "DOCKER", "docker": {"image": "i", "forcePullImage": true}}}`},
		{"check defaults", `{"id": "a", "cmd": "x", "check": {"http": {}}}`,
			`{"id": "a", "cmd": "x", "check": {"http": {"portIndex": 0, "path": "/", "scheme": "HTTP"},
  "intervalSeconds": 60, "timeoutSeconds": 20, "delaySeconds": 15}}`},
	}
	for _, c := range pairs {
		t.Run(c.name, func(t *testing.T) {
			older := canonical(t, fstest.MapFS{"a.json": {Data: []byte(c.older)}})
			newer := canonical(t, fstest.MapFS{"a.json": {Data: []byte(c.newer)}})
			if older != newer {
				t.Errorf("older form:\n%s\nnewer form:\n%s", older, newer)
			}
		})
	}
}

// TestChronosNetworkInfos: one networkInfos entry is the USER network it
// names; several are refused with the place.
func TestChronosNetworkInfos(t *testing.T) {
	job := func(container string) string {
		return `{"name": "j", "command": "true", "schedule": "R/2026-01-01T00:00:00Z/P1D", "container": ` + container + `}`
	}
	older := canonical(t, fstest.MapFS{"j.json": {Data: []byte(job(`{"type": "MESOS", "image": "i",
  "networkInfos": [{"name": "mynet", "labels": [{"key": "service", "value": "test"}]}]}`))}})
	newer := canonical(t, fstest.MapFS{"j.json": {Data: []byte(job(`{"type": "DOCKER", "image": "i", "network": "USER", "networkName": "mynet"}`))}})
	if older != newer {
		t.Errorf("networkInfos:\n%s\nnetworkName:\n%s", older, newer)
	}
	_, err := Load(fstest.MapFS{"j.json": {Data: []byte(job(`{"type": "MESOS",
  "networkInfos": [{"name": "a"}, {"name": "b"}]}`))}})
	if err == nil || !strings.Contains(err.Error(), "j.json:2:19: container.networkInfos: a task joins one Docker network") {
		t.Errorf("two networkInfos: %v", err)
	}
	if _, err := Load(fstest.MapFS{"j.json": {Data: []byte(job(`{"type": "MESOS"}`))}}); err != nil {
		t.Errorf("a MESOS container without an image runs the command as a job without a container does: %v", err)
	}
}

func TestMesosCommandLine(t *testing.T) {
	if got := (MesosCommand{Shell: "test -f /x && true"}).CommandLine(); got != "test -f /x && true" {
		t.Errorf("shell: %q", got)
	}
	if got, want := (MesosCommand{Argv: []string{"sh", "-c", "echo 'hi' $X"}}).CommandLine(), `'sh' '-c' 'echo '\''hi'\'' $X'`; got != want {
		t.Errorf("argv: %q, want %q", got, want)
	}
}
