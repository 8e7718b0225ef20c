package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/secrets"
)

// TestSecretLayOut: an agent opens what the leader sealed to it, writes
// the file and the env file on a tmpfs, and a real shell sourcing the env
// file sees the value exactly, whatever it holds; the files go with the task.
func TestSecretLayOut(t *testing.T) {
	dir, err := os.MkdirTemp("/dev/shm", "berth-agent-test-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	defer os.RemoveAll(dir)
	server, _, err := secrets.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	id, err := LoadOrCreateIdentity(filepath.Join(t.TempDir(), "state", "age-identity.txt"))
	if err != nil {
		t.Fatal(err)
	}
	nasty := "it's $HOME `id` \"q\" \\ \n line2 '"
	s, err := secrets.NewSecret("db", []string{server.Recipient()}, map[string]string{"password": nasty})
	if err != nil {
		t.Fatal(err)
	}
	text, err := secrets.Manifest(s)
	if err != nil {
		t.Fatal(err)
	}
	set, err := manifests.LoadBytes("s.yaml", append(text, "\n---\nkind: App\nid: /a\ncmd: x\nsecrets:\n  pw: {source: db}\n"...))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secrets.Open(set, server)
	if err != nil {
		t.Fatal(err)
	}
	as := cluster.Assignment{TaskID: "a.1", Spec: cluster.TaskSpec{Cmd: "x", Secrets: []cluster.SecretSpec{
		{Name: "pw", Secret: "/db", Key: "password", Env: "PW"}, {Name: "pw", Secret: "/db", Key: "password", Path: "/etc/pw"}}}}
	if as.Spec.Sealed, err = keys.Seal(as.Spec, id.Recipient()); err != nil {
		t.Fatal(err)
	}
	sec := &Secrets{Identity: id, Dir: dir}
	out, err := sec.layOut(as)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Files) != 1 || out.Files[0].ContainerPath != "/etc/pw" || out.EnvFile == "" || len(out.Env) != 0 {
		t.Fatalf("laid out: %+v", out)
	}
	if b, err := os.ReadFile(out.Files[0].HostPath); err != nil || string(b) != nasty {
		t.Fatalf("secret file: %v", err)
	}
	got, err := exec.Command("/bin/sh", "-c", `. "$0" || exit 1
printf %s "$PW"`, out.EnvFile).Output()
	if err != nil || string(got) != nasty {
		t.Fatalf("the shell read %q (%v)", got, err)
	}
	// A task with args and no shell gets its variables from the runtime.
	as.Spec.Cmd, as.Spec.Args = "", []string{"x"}
	if out, err = sec.layOut(as); err != nil || out.Env["PW"] != nasty || out.EnvFile != "" {
		t.Fatalf("args task: %v", err)
	}
	if err := sec.forget("a.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.1")); !os.IsNotExist(err) {
		t.Errorf("the task's secret directory is still there: %v", err)
	}
	// Not a tmpfs: refused, nothing written.
	disk := &Secrets{Identity: id, Dir: filepath.Join(t.TempDir(), "secrets")}
	if CheckTmpfs(disk.Dir) == nil {
		t.Log("the temporary directory is a tmpfs: the refusal of a disk is not checked")
	} else if _, err := disk.layOut(as); err == nil || !strings.Contains(err.Error(), "not on a tmpfs") {
		t.Errorf("a disk directory: %v", err)
	}
	// Sealed to another agent: refused.
	other, _, _ := secrets.GenerateIdentity()
	if _, err := (&Secrets{Identity: other, Dir: dir}).layOut(as); err == nil {
		t.Errorf("another agent opened the task's secrets")
	}
}
