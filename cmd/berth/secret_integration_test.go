package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/go-zookeeper/zk"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/secrets"
	"github.com/berthops/berth/testenv"
)

// TestSecretsEndToEnd runs `berth server --age-identity` and `berth agent`
// on a real ZooKeeper and Docker, following a Git repository whose app uses
// a Secret as Marathon's docs do (env {secret: NAME}) and as a secret volume.
// The value reaches the task's process environment and its file; it is in
// none of the API's answers, the server's and the agent's logs (debug
// level), the container's configuration, berth diff's output or ZooKeeper's
// data. A changed Secret restarts the task with the new value, and a commit
// with a Secret the servers cannot decrypt is refused with its file:line
// while the task keeps running.
func TestSecretsEndToEnd(t *testing.T) {
	testenv.Integration(t)
	cli := testenv.Docker(t)
	testenv.Images(t)
	label := testenv.DockerTestLabel(t, cli)
	zkEnv := testenv.StartZooKeeper(t, 1)
	id := testenv.UniqueID(t)
	chroot := "/secrets-" + id
	url := zkEnv.URL(chroot)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()

	dir := t.TempDir()
	serverID, serverIDText, err := secrets.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(dir, "server.age")
	tokenFile := filepath.Join(dir, "token")
	writeTestFile(t, idFile, serverIDText)
	writeTestFile(t, tokenFile, []byte("test-token-"+id))
	// Values long and random enough that finding one anywhere is a leak.
	value1, value2 := "v1-"+randomHex(t), "v2-"+randomHex(t)
	secretFile := func(v string, recipient string) string {
		s, err := secrets.NewSecret("databasepassword", []string{recipient}, map[string]string{"password": v})
		if err != nil {
			t.Fatal(err)
		}
		text, err := secrets.Manifest(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(text)
	}
	app := `{
  "id": "/app-with-secrets",
  "cmd": "exec sleep 3600",
  "cpus": 0.1,
  "mem": 32,
  "env": {"DATABASE_PW": {"secret": "secretpassword"}, "PLAIN": "visible"},
  "container": {
    "type": "DOCKER",
    "docker": {"image": "` + testenv.ShellImage + `"},
    "volumes": [{"containerPath": "/etc/db/password", "secret": "secretpassword"}]
  },
  "secrets": {"secretpassword": {"source": "databasepassword#password"}}
}
`
	repo := testenv.NewGitRepo(t, filepath.Join(dir, "repo.git"))
	c1 := repo.Commit(t, "main", map[string]string{"secrets/db.yaml": secretFile(value1, serverID.Recipient()), "apps/app.json": app}, "an app with a secret")

	// Both processes log at debug level into buffers the test reads.
	var serverLog, agentLog agentLogBuffer
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1"))
	secretsDir := filepath.Join("/dev/shm", "berth-test-"+id)
	t.Cleanup(func() { os.RemoveAll(secretsDir) })
	run := func(name string, log io.Writer, args ...string) func() {
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			root := newRootCmd(io.Discard, log)
			root.SetArgs(args)
			done <- root.ExecuteContext(rctx)
		}()
		var once sync.Once
		return func() {
			once.Do(func() {
				stop()
				if err := <-done; err != nil {
					t.Errorf("berth %s: %v", name, err)
				}
			})
		}
	}
	stopServer := run("server", &serverLog, "server", "--zk", url, "--listen", addr, "--id", "server-"+id, "--repo", repo.Dir, "--branch", "main",
		"--poll", "500ms", "--token-file", tokenFile, "--age-identity", idFile, "--log-level", "debug")
	defer stopServer()
	stopAgent := run("agent", &agentLog, "agent", "--zk", url, "--id", "secrets-"+id, "--hostname", "secrets-"+id, "--advertise", "127.0.0.6",
		"--resources", "cpus:1;mem:256;disk:100;ports:[34600-34610]", "--consul", "", "--state-dir", filepath.Join(dir, "agent"),
		"--secrets-dir", secretsDir, "--log-level", "debug", "--label", testenv.TestLabel+"="+label)
	defer stopAgent()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s\nagent log:\n%s", serverLog.String(), agentLog.String())
		}
	})

	api := &secretAPI{t: t, base: "http://" + addr, token: "test-token-" + id}
	first := api.waitTask(ctx, "", value1, cli)
	t.Logf("task %s runs with the secret", first.TaskID)

	// The container's configuration (what Docker keeps on disk and shows
	// in docker inspect) holds the references, not the value.
	c := taskContainer(ctx, t, cli, first.TaskID)
	inspect, err := cli.ContainerInspect(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := json.Marshal(inspect)
	if bytes.Contains(conf, []byte(value1)) {
		t.Errorf("docker inspect shows the secret value")
	}

	// berth diff of a change of the Secret, against the live cluster and
	// offline: it says the Secret changes and the task restarts, and shows
	// neither value.
	repo.SetRef(t, "refs/heads/review", c1)
	repo.Change(t, "review", map[string]string{"secrets/db.yaml": secretFile(value2, serverID.Recipient())}, nil, "rotate the password")
	var diffOut bytes.Buffer
	for _, args := range [][]string{
		{"diff", "--repo", repo.Dir, "--head", "review", "--server", api.base, "--token-file", tokenFile, "--no-parse-cache"},
		{"diff", "--repo", repo.Dir, "--head", "review", "--base", "main", "--no-parse-cache"},
		{"diff", "--repo", repo.Dir, "--head", "review", "--base", "main", "--no-parse-cache", "--format", "json"},
	} {
		var out, errb bytes.Buffer
		root := newRootCmd(&out, &errb)
		root.SetArgs(append(args, "--cache-dir", filepath.Join(dir, "cache")))
		if err := root.ExecuteContext(ctx); err != nil {
			t.Fatalf("berth %v: %v\n%s%s", args, err, out.String(), errb.String())
		}
		diffOut.Write(out.Bytes())
		diffOut.Write(errb.Bytes())
		if !strings.Contains(out.String(), "/databasepassword") || !strings.Contains(out.String(), "version") || !strings.Contains(out.String(), "restart") {
			t.Errorf("berth %v does not show the Secret's change:\n%s", args, out.String())
		}
	}
	t.Logf("berth diff --server:\n%s", strings.SplitN(diffOut.String(), "\n\n\n", 2)[0])

	// The rotation lands: a new task with the new value replaces the old.
	repo.Change(t, "main", map[string]string{"secrets/db.yaml": secretFile(value2, serverID.Recipient())}, nil, "rotate the password")
	second := api.waitTask(ctx, first.TaskID, value2, cli)
	if second.Version == first.Version {
		t.Errorf("the task version did not change with the Secret")
	}

	// A Secret the servers cannot decrypt: the commit is refused with its
	// place, and the running task is left alone.
	other, _, err := secrets.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	repo.Change(t, "main", map[string]string{"secrets/db.yaml": secretFile("v3-"+randomHex(t), other.Recipient())}, nil, "encrypted to the wrong key")
	for {
		body := append(api.get(ctx, "/v1/status"), api.get(ctx, "/v1/sync")...)
		if strings.Contains(string(body), `secrets/db.yaml:1:1: data: Secret \"/databasepassword\" (used by /app-with-secrets): cannot decrypt with the servers' identity`) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the commit was not refused naming the Secret; status: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a few passes on the last good commit
	if tasks := api.tasks(ctx); len(tasks) != 1 || tasks[0].TaskID != second.TaskID || tasks[0].Status.State != cluster.TaskRunning {
		t.Errorf("the refused commit changed the running tasks: %+v", tasks)
	}

	// Everything shown or kept, scanned for either value.
	for _, path := range []string{"/v1/status", "/v1/apps", "/v1/tasks", "/v1/agents", "/v1/observed", "/v1/sync", "/v2/apps", "/v2/tasks", "/v2/apps/app-with-secrets",
		"/v1/apps/app-with-secrets", "/v1/manifest?file=secrets/db.yaml", "/v1/diff?ref=main"} {
		api.get(ctx, path) // records the body
	}
	if !bytes.Contains(api.seen.Bytes(), []byte("secretpassword")) {
		t.Errorf("the API does not show the app's secret references")
	}
	stopAgent()
	stopServer()
	zkData := scanZooKeeper(t, zkEnv.Addrs(), chroot)
	if !bytes.Contains(zkData, []byte(second.TaskID)) || !bytes.Contains(zkData, []byte(`"sealed"`)) {
		t.Fatalf("the ZooKeeper scan found no task: it read nothing")
	}
	// The container is removed here, with time to spare on a loaded
	// Docker, rather than by the label cleanup's shorter deadline.
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer rcancel()
	if err := cli.ContainerRemove(rctx, taskContainer(ctx, t, cli, second.TaskID), container.RemoveOptions{Force: true}); err != nil {
		t.Logf("remove the task's container: %v", err)
	}
	for what, b := range map[string][]byte{"the API": api.seen.Bytes(), "the server's log": []byte(serverLog.String()),
		"the agent's log": []byte(agentLog.String()), "berth diff": diffOut.Bytes(), "ZooKeeper": zkData} {
		for _, v := range []string{value1, value2} {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds a secret value in the clear", what)
			}
		}
	}
}

type secretAPI struct {
	t           *testing.T
	base, token string
	seen        bytes.Buffer
}

func (a *secretAPI) get(ctx context.Context, path string) []byte {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a.seen.Write(b)
	return b
}

func (a *secretAPI) tasks(ctx context.Context) []cluster.Task {
	var tasks []cluster.Task
	_ = json.Unmarshal(a.get(ctx, "/v1/tasks"), &tasks)
	return tasks
}

// waitTask waits until the only task is a RUNNING one other than not whose
// process sees want in its environment and its secret file.
func (a *secretAPI) waitTask(ctx context.Context, not, want string, cli *client.Client) cluster.Task {
	a.t.Helper()
	for {
		tasks := a.tasks(ctx)
		if len(tasks) == 1 && tasks[0].TaskID != not && tasks[0].Status.State == cluster.TaskRunning {
			c := taskContainer(ctx, a.t, cli, tasks[0].TaskID)
			env := execOutput(ctx, a.t, cli, c, "cat /proc/1/environ | tr '\\0' '\\n'")
			file := execOutput(ctx, a.t, cli, c, "cat /etc/db/password")
			if strings.Contains("\n"+env, "\nDATABASE_PW="+want+"\n") && strings.Contains(env, "PLAIN=visible") && file == want {
				return tasks[0]
			}
			a.t.Fatalf("task %s runs without the secret value in its env or file (env has DATABASE_PW: %v, file matches: %v)",
				tasks[0].TaskID, strings.Contains(env, "DATABASE_PW="), file == want)
		}
		if ctx.Err() != nil {
			a.t.Fatalf("no running task with the secret; tasks: %+v", tasks)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func taskContainer(ctx context.Context, t *testing.T, cli *client.Client, taskID string) string {
	t.Helper()
	list, err := cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "berth.task="+taskID))})
	if err != nil || len(list) != 1 {
		t.Fatalf("container of %s: %v (%d found)", taskID, err, len(list))
	}
	return list[0].ID
}

func execOutput(ctx context.Context, t *testing.T, cli *client.Client, id, cmd string) string {
	t.Helper()
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: []string{"/bin/sh", "-c", cmd}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	att, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer att.Close()
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, att.Reader); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// scanZooKeeper reads every node under root: names and data.
func scanZooKeeper(t *testing.T, addrs []string, root string) []byte {
	t.Helper()
	conn, _, err := zk.Connect(addrs, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var all bytes.Buffer
	var walk func(p string)
	walk = func(p string) {
		data, _, err := conn.Get(p)
		if err != nil && err != zk.ErrNoNode {
			t.Fatalf("read %s: %v", p, err)
		}
		all.WriteString(p + "\n")
		all.Write(data)
		all.WriteByte('\n')
		children, _, err := conn.Children(p)
		if err != nil && err != zk.ErrNoNode {
			t.Fatalf("list %s: %v", p, err)
		}
		for _, c := range children {
			walk(strings.TrimSuffix(p, "/") + "/" + c)
		}
	}
	walk(root)
	return all.Bytes()
}

func randomHex(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func writeTestFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
