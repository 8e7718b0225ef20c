package agent

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/agent/fetch"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

func siteArchive(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, f := range []struct{ name, body string }{{"site/index.html", "<h1>from the archive</h1>\n"}, {"site/VERSION", "7\n"}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return b.Bytes()
}

// TestFetchedArtifactsOnDocker fetches an archive and a script over HTTP
// into a task's sandbox on a real Docker Engine: the task (a cmd, so its
// working directory is the sandbox) reads the extracted file by a relative
// path, the script through a sandbox-relative volume, and $MESOS_SANDBOX;
// the sandbox goes with the task. A URI that fails fails the launch naming
// it, before any container exists, and a run past its timeout is killed and
// reported FAILED.
func TestFetchedArtifactsOnDocker(t *testing.T) {
	h := newHarness(t)
	site := siteArchive(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/site.tgz":
			w.Write(site)
		case "/pinger.py":
			w.Write([]byte("print('pong')\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	sandboxes := t.TempDir()
	f, err := fetch.New(fetch.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	h.configure = func(c *Config) { c.SandboxDir, c.Fetcher = sandboxes, f }
	node := h.node("127.0.0.2")
	h.start(node, nil)

	task := func(id string, spec cluster.TaskSpec) cluster.Assignment {
		spec.Image, spec.Network = testenv.ShellImage, networkBridge
		return cluster.Assignment{TaskID: id, Owner: cluster.OwnerJob, OwnerID: "fetcher", Version: "v1", AgentID: node.ID, Spec: spec}
	}
	h.fc.put(task("reads.1", cluster.TaskSpec{
		Cmd: `cat site/index.html && cat /opt/pinger.py && echo "sandbox=$MESOS_SANDBOX cwd=$(pwd)"`,
		Fetch: []cluster.Artifact{
			{URI: srv.URL + "/site.tgz", Extract: true, Cache: true},
			{URI: srv.URL + "/pinger.py", Executable: true},
		},
		Volumes: []cluster.VolumeSpec{{HostPath: "pinger.py", ContainerPath: "/opt/pinger.py", ReadOnly: true}},
	}))
	h.fc.put(task("missing.1", cluster.TaskSpec{Cmd: "true", Fetch: []cluster.Artifact{{URI: srv.URL + "/nope.tgz", Extract: true}}}))
	h.fc.put(task("slow.1", cluster.TaskSpec{Cmd: "sleep 60", Timeout: time.Second, KillGracePeriod: time.Second}))

	// Generous waits: on a loaded Docker Engine a start can take long.
	wait := func(id string, want cluster.TaskState) cluster.TaskStatus {
		return h.fc.waitFor(t, id, 2*time.Minute, string(want), func(s cluster.TaskStatus) bool { return s.State == want })
	}
	st := wait("reads.1", cluster.TaskFinished)
	for _, want := range []string{"<h1>from the archive</h1>", "print('pong')", "sandbox=/mnt/mesos/sandbox cwd=/mnt/mesos/sandbox"} {
		if !strings.Contains(st.OutputTail, want) {
			t.Errorf("the task's output %q lacks %q", st.OutputTail, want)
		}
	}
	dir := filepath.Join(sandboxes, sandboxName("reads.1"))
	if fi, err := os.Stat(filepath.Join(dir, "pinger.py")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("pinger.py in the sandbox: %v, %v; want mode 0755", fi, err)
	}

	st = wait("missing.1", cluster.TaskFailed)
	if !strings.Contains(st.Message, "fetch "+srv.URL+"/nope.tgz: HTTP 404") {
		t.Errorf("failed launch says %q, want the URI and the HTTP status", st.Message)
	}
	if st.ContainerID != "" {
		t.Errorf("a container was created for a task whose fetch failed")
	}

	st = h.fc.waitFor(t, "slow.1", 2*time.Minute, "FAILED by its timeout", func(s cluster.TaskStatus) bool { return s.State.Terminal() })
	if st.State != cluster.TaskFailed || !strings.Contains(st.Message, "timeout of 1s") {
		t.Errorf("slow task ended %s (%q), want FAILED by its timeout", st.State, st.Message)
	}

	// The sandbox goes with the task.
	h.fc.remove(node.ID, "reads.1")
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox %s still exists after its task was removed", dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
