package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nginxBin is Debian's nginx package.
const nginxBin = "/usr/sbin/nginx"

// Nginx is a real nginx (Debian's package) running in the foreground with
// its configuration, pid file, logs and temp files in a test directory, and
// one HTTP server on a free loopback port.
type Nginx struct {
	// Addr is the served address, 127.0.0.1:port.
	Addr string
	// Dir holds everything nginx uses; ConfDir (Dir/conf.d) is included in
	// the http block, so a test renders upstream files there.
	Dir, ConfDir string
	// Conf is the main configuration file.
	Conf string
	proc *Process
	t    testing.TB
}

// StartNginx starts nginx. server is the body of the one server block (its
// listen directive is added); conf.d/*.conf is included at http level, so
// upstreams rendered there can be named in server. A file conf.d holds must
// exist before start when server refers to it: pass initial files in
// confFiles (name -> contents).
func StartNginx(t testing.TB, server string, confFiles map[string]string) *Nginx {
	t.Helper()
	Integration(t)
	if _, err := os.Stat(nginxBin); err != nil {
		t.Fatalf("testenv: %s not found: run `make deps` (installs Debian's nginx package)", nginxBin)
	}
	dir := t.TempDir()
	n := &Nginx{Dir: dir, ConfDir: filepath.Join(dir, "conf.d"), Conf: filepath.Join(dir, "nginx.conf"), t: t}
	for _, d := range []string{n.ConfDir, filepath.Join(dir, "tmp"), filepath.Join(dir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	for name, body := range confFiles {
		if err := os.WriteFile(filepath.Join(n.ConfDir, name), []byte(body), 0o644); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	port := FreePort(t, "127.0.0.1")
	n.Addr = "127.0.0.1:" + strconv.Itoa(port)
	user := ""
	if os.Geteuid() == 0 {
		// Workers would otherwise drop to nobody, who cannot read a
		// test's 0700 temp directory.
		user = "user root;\n"
	}
	conf := fmt.Sprintf(`%sdaemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/logs/error.log warn;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path %[2]s/tmp/body;
  proxy_temp_path %[2]s/tmp/proxy;
  fastcgi_temp_path %[2]s/tmp/fastcgi;
  uwsgi_temp_path %[2]s/tmp/uwsgi;
  scgi_temp_path %[2]s/tmp/scgi;
  include %[3]s/*.conf;
  server {
    listen %[4]s;
%[5]s
  }
}
`, user, dir, n.ConfDir, n.Addr, server)
	if err := os.WriteFile(n.Conf, []byte(conf), 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	n.proc = StartProcess(t, dir, nginxBin, "-p", dir, "-c", n.Conf, "-e", filepath.Join(dir, "logs", "error.log"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", n.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return n
		}
		if !n.proc.Running() || time.Now().After(deadline) {
			t.Fatalf("testenv: nginx did not start: %v\n%s\n%s", err, n.proc.Output(), n.ErrorLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCommand is the shell command that checks the configuration in place
// (for a template's validate).
func (n *Nginx) TestCommand() string {
	return fmt.Sprintf("%s -q -t -p %s -c %s -e %s", nginxBin, n.Dir, n.Conf, filepath.Join(n.Dir, "logs", "error.log"))
}

// ReloadCommand is the shell command that makes nginx re-read its
// configuration (for a template's command).
func (n *Nginx) ReloadCommand() string {
	return fmt.Sprintf("%s -s reload -p %s -c %s -e %s", nginxBin, n.Dir, n.Conf, filepath.Join(n.Dir, "logs", "error.log"))
}

// Reload runs ReloadCommand.
func (n *Nginx) Reload() error {
	out, err := exec.Command("/bin/sh", "-c", n.ReloadCommand()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nginx reload: %w: %s", err, out)
	}
	return nil
}

// Running reports whether the nginx master is still up.
func (n *Nginx) Running() bool { return n.proc.Running() }

// Get fetches path from nginx and returns the body.
func (n *Nginx) Get(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Addr+path, nil)
	if err != nil {
		return "", err
	}
	// A fresh connection each time, so every request can reach a newly
	// reloaded worker and round-robin is observable.
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), nil
}

// ErrorLog is nginx's error log so far.
func (n *Nginx) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "logs", "error.log"))
	return strings.TrimSpace(string(b))
}
