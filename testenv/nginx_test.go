package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestNginxServesReloadsAndValidates(t *testing.T) {
	backend := func(name string) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, name) })}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		return l.Addr().String()
	}
	a, b := backend("a"), backend("b")
	n := StartNginx(t, "location / { proxy_pass http://backend; }",
		map[string]string{"upstream.conf": "upstream backend { server " + a + "; }\n"})
	ctx := context.Background()
	if got, err := n.Get(ctx, "/"); err != nil || got != "a" {
		t.Fatalf("GET / = %q, %v; want a", got, err)
	}
	// A new upstream, then reload: nginx serves from it.
	if err := os.WriteFile(filepath.Join(n.ConfDir, "upstream.conf"), []byte("upstream backend { server "+b+"; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("/bin/sh", "-c", n.TestCommand()).Run(); err != nil {
		t.Fatalf("nginx -t on a good config: %v", err)
	}
	if err := n.Reload(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := n.Get(ctx, "/")
		if got == "b" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after reload GET / = %q, want b\n%s", got, n.ErrorLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// An empty upstream fails nginx -t.
	if err := os.WriteFile(filepath.Join(n.ConfDir, "upstream.conf"), []byte("upstream backend { }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("/bin/sh", "-c", n.TestCommand()).Run(); err == nil {
		t.Fatal("nginx -t accepted an empty upstream")
	}
	if !n.Running() {
		t.Fatal("nginx stopped")
	}
}
