package policy

import (
	"strings"
	"testing"

	"github.com/berthops/berth/cluster"
)

func vol(host string) cluster.TaskSpec {
	return cluster.TaskSpec{Image: "x", Volumes: []cluster.VolumeSpec{{HostPath: host, ContainerPath: "/v"}}}
}

func param(k, v string) cluster.TaskSpec {
	return cluster.TaskSpec{Image: "x", Parameters: []cluster.Parameter{{Key: k, Value: v}}}
}

// TestCheck covers each way the issue showed a commit author becoming root on
// an agent, under the default (empty) policy and under one that allows
// exactly what it needs.
func TestCheck(t *testing.T) {
	none := cluster.AgentPolicy{}
	data := cluster.AgentPolicy{HostPaths: []string{"/data"}, Caps: []string{"NET_ADMIN"}, Networks: []string{"backend"},
		Parameters: []string{"log-driver"}}
	tests := []struct {
		name string
		p    cluster.AgentPolicy
		spec cluster.TaskSpec
		rule string // "" = allowed
	}{
		{"plain", none, cluster.TaskSpec{Image: "x", Network: "BRIDGE"}, ""},
		{"host networking is host-port mode", none, cluster.TaskSpec{Image: "x", Network: "HOST"}, ""},
		{"host root", none, vol("/"), RuleDockerSocket},
		{"host root allowed but socket", cluster.AgentPolicy{HostPaths: []string{"/"}}, vol("/"), RuleDockerSocket},
		{"host root and socket", cluster.AgentPolicy{HostPaths: []string{"/"}, DockerSocket: true}, vol("/"), ""},
		{"docker socket", data, vol("/var/run/docker.sock"), RuleDockerSocket},
		{"run dir", cluster.AgentPolicy{HostPaths: []string{"/run"}}, vol("/run"), RuleDockerSocket},
		{"etc", none, vol("/etc"), RuleHostPath},
		{"under prefix", data, vol("/data/app"), ""},
		{"prefix itself", data, vol("/data"), ""},
		{"dotdot escapes", data, vol("/data/../etc"), RuleHostPath},
		{"sibling with prefix name", data, vol("/database"), RuleHostPath},
		{"relative is inside the task's sandbox", none, vol("data/x"), ""},
		{"relative climbing out", data, vol("../data/x"), RuleHostPath},
		{"cap-add ALL", none, param("cap-add", "ALL"), RuleCapAdd},
		{"cap-add named", data, param("cap-add", "cap_net_admin"), ""},
		{"cap-add other", data, param("cap-add", "SYS_ADMIN"), RuleCapAdd},
		{"cap-add ALL with one allowed", data, param("--cap-add", "ALL"), RuleCapAdd},
		{"cap-add with ALL allowed", cluster.AgentPolicy{Caps: []string{"ALL"}}, param("cap-add", "SYS_ADMIN"), ""},
		{"seccomp unconfined", none, param("security-opt", "seccomp=unconfined"), RuleParameter},
		{"apparmor unconfined", none, param("security-opt", "apparmor=unconfined"), RuleParameter},
		{"no-new-privileges", none, param("security-opt", "no-new-privileges"), ""},
		{"pid host", none, param("pid", "host"), RuleParameter},
		{"label", none, param("label", "a=b"), ""},
		{"log-driver allowed", data, param("log-driver", "json-file"), ""},
		{"log-driver", none, param("log-driver", "gelf"), RuleParameter},
		{"privileged", none, cluster.TaskSpec{Image: "x", Privileged: true}, RulePrivileged},
		{"privileged allowed", cluster.AgentPolicy{Privileged: true}, cluster.TaskSpec{Image: "x", Privileged: true}, ""},
		{"user network host", none, cluster.TaskSpec{Image: "x", Network: "USER", NetworkName: "host"}, RuleHostNetwork},
		{"user network host allowed", cluster.AgentPolicy{HostNetwork: true}, cluster.TaskSpec{Image: "x", Network: "USER", NetworkName: "host"}, ""},
		{"user network other container", data, cluster.TaskSpec{Image: "x", Network: "USER", NetworkName: "container:db"}, RuleNetwork},
		{"user network unknown", none, cluster.TaskSpec{Image: "x", Network: "USER", NetworkName: "backend"}, RuleNetwork},
		{"user network allowed", data, cluster.TaskSpec{Image: "x", Network: "USER", NetworkName: "backend"}, ""},
	}
	for _, tt := range tests {
		r, ok := Check(tt.p, tt.spec)
		switch {
		case tt.rule == "" && !ok:
			t.Errorf("%s: refused by %s: %s, want allowed", tt.name, r.Rule, r.Reason)
		case tt.rule != "" && ok:
			t.Errorf("%s: allowed, want refused by %s", tt.name, tt.rule)
		case tt.rule != "" && r.Rule != tt.rule:
			t.Errorf("%s: refused by %s (%s), want %s", tt.name, r.Rule, r.Reason, tt.rule)
		case !ok && !strings.Contains(r.Reason, "berth agent --") && tt.rule != RuleHostPath:
			t.Errorf("%s: reason %q does not name the flag that allows it", tt.name, r.Reason)
		}
	}
}

func TestTemplates(t *testing.T) {
	p := cluster.AgentPolicy{TemplateRoots: []string{"/etc/nginx/conf.d"}, TemplateCommands: []string{"nginx", "/usr/sbin/nginx"}}
	for dest, want := range map[string]bool{
		"/etc/nginx/conf.d/up.conf":           true,
		"/etc/nginx/conf.d/../nginx.conf":     false,
		"/etc/nginx/conf.d":                   false,
		"/etc/cron.d/x":                       false,
		"/etc/nginx/conf.dx/up.conf":          false,
		"conf.d/up.conf":                      false,
		"/etc/nginx/conf.d/sub/dir/list.conf": true,
	} {
		if _, ok := CheckTemplateDestination(p, dest); ok != want {
			t.Errorf("destination %s: allowed %v, want %v", dest, ok, want)
		}
	}
	if r, ok := CheckTemplateDestination(cluster.AgentPolicy{}, "/tmp/x"); ok || r.Rule != RuleTemplateRoot {
		t.Errorf("no template root: %v %v", r, ok)
	}
	for line, want := range map[string]bool{
		"":                           true,
		"nginx -s reload":            true,
		"/usr/sbin/nginx -t -c /x":   true,
		"nginx -s reload; rm -rf /":  false,
		"nginx -s reload && sh":      false,
		"nginx $(id)":                false,
		"nginx `id`":                 false,
		"nginx -s reload\nrm -rf /":  false,
		"systemctl reload nginx":     false,
		"/usr/local/bin/nginx -t":    false,
		"nginx > /etc/passwd":        false,
		"nginx -g 'daemon off;'":     false,
		"  nginx   -s   reload   ":   true,
		"sh -c 'nginx -s reload'":    false,
		"nginx -s reload | tee /tmp": false,
	} {
		if r, ok := CheckTemplateCommand(p, line); ok != want {
			t.Errorf("command %q: allowed %v (%s), want %v", line, ok, r.Reason, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	p, err := Normalize(cluster.AgentPolicy{HostPaths: []string{"/data/./x/"}, Caps: []string{"cap_net_admin"}, Parameters: []string{"--log-driver"}, TemplateRoots: []string{"/etc/nginx/"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.HostPaths[0] != "/data/x" || p.Caps[0] != "NET_ADMIN" || p.Parameters[0] != "log-driver" || p.TemplateRoots[0] != "/etc/nginx" {
		t.Errorf("normalized: %+v", p)
	}
	for _, bad := range []cluster.AgentPolicy{
		{HostPaths: []string{"data"}},
		{TemplateRoots: []string{"/"}},
		{TemplateCommands: []string{"nginx -s"}},
		{Caps: []string{" "}},
		{Networks: []string{""}},
	} {
		if _, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%+v) accepted", bad)
		}
	}
}

func TestCheckAgent(t *testing.T) {
	priv := cluster.TaskSpec{Image: "x", Privileged: true}
	if _, ok := CheckAgent(cluster.Agent{AllowPrivileged: true}, priv); !ok {
		t.Error("an agent registered with only allowPrivileged refuses a privileged task")
	}
	if r, ok := CheckAgent(cluster.Agent{}, vol("/srv")); ok || r.Rule != RuleHostPath {
		t.Errorf("an agent with no policy: %v %v, want refused by host-path", r, ok)
	}
}

func TestDescribe(t *testing.T) {
	if got := Describe(cluster.AgentPolicy{}); got != "-" {
		t.Errorf("default policy: %q", got)
	}
	got := Describe(cluster.AgentPolicy{Privileged: true, HostPaths: []string{"/data"}, Caps: []string{"NET_ADMIN"}, TemplateRoots: []string{"/etc/nginx/conf.d"}})
	if want := "privileged,host-path=/data,cap=NET_ADMIN,template-root=/etc/nginx/conf.d"; got != want {
		t.Errorf("Describe: %q, want %q", got, want)
	}
}
