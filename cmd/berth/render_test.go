package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/testenv"
)

func runRender(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs(append([]string{"render"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestRenderFlagErrors(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bad.tmpl")
	if err := os.WriteFile(src, []byte("line one\n{{ vault \"x\" }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "at least one --template"},
		{[]string{"--template", "only-source"}, "want SRC:DST[:COMMAND]"},
		{[]string{"--template", filepath.Join(dir, "nope.tmpl") + ":/tmp/x"}, "no such file"},
		{[]string{"--template", src + ":/tmp/x"}, src + `:2: function "vault": no such function`},
		{[]string{"--template", src + ":/tmp/x", "--wait", "soon"}, `--wait "soon"`},
	} {
		_, _, err := runRender(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("render %v: err = %v, want it to contain %q", tc.args, err, tc.want)
		}
	}
}

func TestParseTemplateFlagKeepsColonsInCommand(t *testing.T) {
	src := filepath.Join(t.TempDir(), "a.tmpl")
	os.WriteFile(src, []byte("x"), 0o644)
	spec, err := parseTemplateFlag(src + ":/etc/out.conf:sh -c 'echo a:b'")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Destination != "/etc/out.conf" || spec.Command != "sh -c 'echo a:b'" || spec.Contents != "x" {
		t.Errorf("parsed %+v", spec)
	}
}

func TestRenderOnceDryFromConsul(t *testing.T) {
	consul := testenv.StartConsul(t)
	cfg := api.DefaultConfig()
	cfg.Address = consul.Addr
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web", Address: "127.0.0.2", Port: 31001}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "web.tmpl")
	os.WriteFile(src, []byte(`{{ range service "web" }}server {{ .Address }}:{{ .Port }};{{ end }}`+"\n"), 0o644)
	dst := filepath.Join(dir, "web.conf")

	out, _, err := runRender(t, "--consul", consul.Addr, "--template", src+":"+dst, "--once", "--dry")
	if err != nil {
		t.Fatal(err)
	}
	if want := "> " + dst + "\nserver 127.0.0.2:31001;\n"; out != want {
		t.Errorf("--dry printed %q, want %q", out, want)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("--dry wrote %s", dst)
	}
	marker := filepath.Join(dir, "reloaded")
	if _, _, err := runRender(t, "--consul", consul.Addr, "--template", src+":"+dst+":touch "+marker, "--once"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "server 127.0.0.2:31001;\n" {
		t.Errorf("%s = %q", dst, b)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("command did not run: %v", err)
	}
}
