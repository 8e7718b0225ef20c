package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/testenv"
)

const prWeb = `kind: App
id: /web
instances: %d
cpus: 0.1
mem: 16
container:
  type: DOCKER
  docker:
    image: berth/web:dev
  portMappings:
    - containerPort: 80
networks:
  - mode: container/bridge
`

const prUpstream = `kind: Template
id: /web-upstream
destination: /etc/nginx/conf.d/web.conf
contents: |
  upstream web {
  {{- range service "web" }}
    server {{ .Address }}:{{ .Port }};
  {{- end }}
  }
`

const prPrivileged = `kind: App
id: /priv
instances: 1
cpus: 0.1
mem: 16
container:
  type: DOCKER
  docker:
    image: berth/web:dev
    privileged: true
`

// The pull-request comment, produced from a real repository against a live
// berth up: the plan, the fit verdict with the server's reason, the blast
// radius, and the nginx upstream gaining a server because the app scales;
// --exit-code says 3 (does not fit), so the PR check fails.
func TestPRCommentAgainstLiveUp(t *testing.T) {
	testenv.Integration(t)
	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{"apps/web.yaml": fmt.Sprintf(prWeb, 1), "templates/web.berth.yaml": prUpstream}, "web x1")
	repo.Commit(t, "pr", map[string]string{"apps/web.yaml": fmt.Sprintf(prWeb, 2), "templates/web.berth.yaml": prUpstream, "apps/priv.yaml": prPrivileged}, "web x2, a privileged app")
	up := newUpEnv(t, repo.FileURL(), "31900-31999", time.Hour)
	defer up.start()()
	api := "http://" + up.fl.listen
	tasks := waitHealthy(t, api, 1)

	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs([]string{"diff", "--repo", repo.Dir, "--base", "main", "--head", "pr", "--server", api,
		"--token-file", filepath.Join(up.fl.dataDir, "token"), "--format", "markdown", "--exit-code", "--no-parse-cache"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 3 {
		t.Fatalf("berth diff --exit-code: %v (stderr %s), want exit 3 (does not fit)\n%s", err, errb.String(), out.String())
	}
	comment := out.String()
	for _, want := range []string{
		"<b>create</b> App <code>/priv</code>",
		"<b>update</b> App <code>/web</code> (scale)",
		"**does not fit**",
		"cannot place App <code>/priv</code> instance 1: apps/priv.yaml:1: 1 of 1 instances of /priv: agent policy privileged",
		"<code>/web</code>: 1 started, 0 stopped",
		"Template <code>/web-upstream</code> renders <code>/etc/nginx/conf.d/web.conf</code> differently",
		fmt.Sprintf(" server 127.0.0.1:%d;", tasks[0].Status.HostPorts[0]),
		"\n+  server 127.0.0.1:",
	} {
		if !strings.Contains(comment, want) {
			t.Errorf("the comment lacks %q:\n%s", want, comment)
		}
	}
}
