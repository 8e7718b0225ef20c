package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/testenv"
)

// hardenedReplica is one berth server replica over a real Git repository
// and a real TCP listener, with small limits so tests reach them quickly.
type hardenedReplica struct {
	addr, token, secret string
	repo                *testenv.GitRepo
}

func startHardened(t *testing.T, limits server.Limits, maxStreams int) *hardenedReplica {
	t.Helper()
	repo := testenv.NewGitRepo(t, t.TempDir())
	repo.Commit(t, "main", map[string]string{"apps/web.yaml": "kind: App\nid: /web\ninstances: 0\ncmd: sleep 1\n"}, "web")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	store := memstore.New().Client()
	cp, err := newControlPlane(ctx, slog.New(slog.DiscardHandler), store, controlFlags{repo: repo.FileURL(), branch: "main",
		cacheDir: t.TempDir(), poll: time.Hour, resync: time.Hour, prune: true, maxStreams: maxStreams})
	if err != nil {
		t.Fatal(err)
	}
	h := &hardenedReplica{token: "tok-" + testenv.UniqueID(t), secret: "hook-" + testenv.UniqueID(t), repo: repo}
	cp.api.Token, cp.api.WebhookSecret = h.token, h.secret
	srv := server.New(server.Config{ID: "s1", Store: store, Logger: slog.New(slog.DiscardHandler), Lead: []server.LeadFunc{cp.rec.Run},
		Limits: limits})
	cp.mount(srv, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, ln)
	}()
	t.Cleanup(func() { cancel(); <-done })
	h.addr = ln.Addr().String()
	waitStatus(t, "http://"+h.addr, func(st reconciler.Status) bool { return st.Desired != "" })
	return h
}

// rawRequest opens a connection and writes head (request line and headers,
// without the final blank line) then body; it returns the connection for the
// caller to read the answer.
func rawRequest(t *testing.T, addr, head, body string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head+"\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	return c
}

// statusLine reads the first line of the answer on c, or fails after wait.
func statusLine(t *testing.T, c net.Conn, wait time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.TrimSpace(line)
}

// TestAPIHardening checks finding 3 of issue 16 on a real server: what an
// unauthenticated client can hold is bounded. A webhook without a signature
// is refused before its body is read, a stalled body is cut by the read
// timeout, a replayed delivery is refused, event streams are capped and
// outlive the write timeout, and connections past the cap get 503.
func TestAPIHardening(t *testing.T) {
	limits := server.Limits{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxConns: 8}
	h := startHardened(t, limits, 2)
	hook := "POST /v1/hooks/git HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000"

	// No signature header: 401 at once, although the body never comes.
	c := rawRequest(t, h.addr, hook, `{"ref":`)
	if got := statusLine(t, c, 3*time.Second); !strings.Contains(got, " 401 ") {
		t.Errorf("unsigned webhook with a stalled body: got %q, want 401 before the body is read", got)
	}
	// A signature header and a body that stalls: the read timeout ends it.
	c = rawRequest(t, h.addr, hook+"\r\nX-Hub-Signature-256: sha256=00", `{"ref":`)
	if got := statusLine(t, c, 5*time.Second); !strings.Contains(got, " 400 ") && got != "error: EOF" {
		t.Errorf("signed webhook with a stalled body: %q after 5 s, want 400 or the connection closed by the 1 s read timeout", got)
	}

	// A valid delivery is taken once; the same delivery again is refused.
	body := `{"ref":"refs/heads/main"}`
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write([]byte(body))
	signed := fmt.Sprintf("POST /v1/hooks/git HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\r\nX-Hub-Signature-256: sha256=%s",
		len(body), hex.EncodeToString(mac.Sum(nil)))
	if got := statusLine(t, rawRequest(t, h.addr, signed, body), 5*time.Second); !strings.Contains(got, " 202 ") {
		t.Fatalf("signed webhook: %q, want 202", got)
	}
	if got := statusLine(t, rawRequest(t, h.addr, signed, body), 5*time.Second); !strings.Contains(got, " 409 ") {
		t.Errorf("replayed webhook delivery: %q, want 409", got)
	}

	// Two event streams are served; a third gets 503.
	events := "GET /v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream"
	var streams []*bufio.Reader
	for i := range 2 {
		c := rawRequest(t, h.addr, events, "")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		if line, err := r.ReadString('\n'); err != nil || !strings.Contains(line, " 200 ") {
			t.Fatalf("event stream %d: %q %v", i, line, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		streams = append(streams, r)
	}
	if got := statusLine(t, rawRequest(t, h.addr, events+"\r\nConnection: close", ""), 5*time.Second); !strings.Contains(got, " 503 ") {
		t.Errorf("third event stream: %q, want 503 past the cap of 2", got)
	}
	// Past the 1 s write timeout, a stream still delivers the next event.
	time.Sleep(1500 * time.Millisecond)
	req, _ := http.NewRequest(http.MethodPost, "http://"+h.addr+"/v1/sync", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for {
		line, err := streams[0].ReadString('\n')
		if err != nil {
			t.Fatalf("event stream ended after the write timeout: %v", err)
		}
		if strings.HasPrefix(line, "data: ") && !strings.Contains(line, `"generation":0`) {
			break
		}
	}

	// Connections: idle ones fill the cap of 8 (the two streams and any
	// keep-alive connection of the test's own client count too), and a
	// new connection is then answered 503.
	refused := false
	for i := 0; i < limits.MaxConns && !refused; i++ {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		probe := rawRequest(t, h.addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close", "")
		got := statusLine(t, probe, 5*time.Second)
		probe.Close()
		refused = strings.Contains(got, " 503 ")
	}
	if !refused {
		t.Errorf("%d idle connections and the next one was still served: no cap at %d", limits.MaxConns, limits.MaxConns)
	}
}

// TestHTTPLimitFlags: the limits are flags of berth server and berth up,
// and values that would leave the API unbounded or unusable are refused
// before anything starts, naming the flag.
func TestHTTPLimitFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"up", "--data-dir", t.TempDir(), "--http-max-streams", "5000"}, "--http-max-streams 5000: want a positive number below --http-max-conns (1024)"},
		{[]string{"up", "--data-dir", t.TempDir(), "--http-max-conns", "10", "--http-max-streams", "10"}, "--http-max-streams 10"},
		{[]string{"up", "--data-dir", t.TempDir(), "--http-read-timeout", "-1s"}, "--http-read-timeout -1s: want a positive duration"},
		{[]string{"server", "--zk", "zk://127.0.0.1:1/berth", "--repo", ".", "--http-max-conns", "-5"}, "--http-max-conns -5"},
	} {
		_, errOut, code := runDiffCmd(t, tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want 1 and %q", tt.args, code, errOut, tt.want)
		}
	}
	var c controlFlags
	if err := c.checkLimits(); err != nil {
		t.Errorf("zero limits (the defaults): %v", err)
	}
}
