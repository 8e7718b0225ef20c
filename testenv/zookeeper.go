package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// zkJars is where Debian's zookeeper package puts ZooKeeper and its
// dependencies; zkConfDir holds its log4j configuration.
const (
	zkJars    = "/usr/share/java/zookeeper.jar"
	zkConfDir = "/etc/zookeeper/conf"
	// zkClassPath names the log4j binding that zkConfDir's
	// log4j.properties configures: the jar's manifest brings its other
	// dependencies but no logging backend, and with /usr/share/java/* SLF4J
	// picks slf4j-nop and the servers log nothing, not even why they
	// dropped a session (Output was empty on every failure).
	zkClassPath = zkConfDir + ":" + zkJars + ":/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
)

// ZooKeeper is a real ZooKeeper ensemble (1 or 3 servers) on loopback ports,
// from Debian's zookeeper package, with data in temporary directories.
type ZooKeeper struct {
	Servers []*ZKServer
	t       testing.TB
}

// ZKServer is one server of an ensemble.
type ZKServer struct {
	ID   int    // myid, from 1
	Addr string // client address, host:port
	proc *Process
}

// TickTime is the ensemble's tick: sessions may last from 2 to 20 ticks, so
// tests can use session timeouts from 1 s (fast expiry) to 10 s.
const TickTime = 500 * time.Millisecond

// StartZooKeeper starts an ensemble of n servers (1 or 3) on 127.0.0.1,
// waits until every server serves requests and kills them all when the test
// ends. A missing zookeeper package or java fails the test with how to
// install them.
func StartZooKeeper(t testing.TB, n int) *ZooKeeper {
	t.Helper()
	Integration(t)
	java, err := findZooKeeper()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if n != 1 && n != 3 {
		t.Fatalf("testenv: a ZooKeeper ensemble of %d servers: use 1 or 3", n)
	}
	type ports struct{ client, peer, election int }
	ps := make([]ports, n)
	for i := range ps {
		ps[i] = ports{FreePort(t, "127.0.0.1"), FreePort(t, "127.0.0.1"), FreePort(t, "127.0.0.1")}
	}
	z := &ZooKeeper{t: t}
	for i := range n {
		dir := t.TempDir()
		data := filepath.Join(dir, "data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatalf("testenv: zookeeper data dir: %v", err)
		}
		var cfg strings.Builder
		fmt.Fprintf(&cfg, "tickTime=%d\ninitLimit=20\nsyncLimit=4\n", TickTime.Milliseconds())
		fmt.Fprintf(&cfg, "dataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n", data, ps[i].client)
		cfg.WriteString("maxClientCnxns=0\n4lw.commands.whitelist=*\nadmin.enableServer=false\n")
		// Tests pause and kill servers; the default 1-hour purge is irrelevant,
		// but fsync on every write would make the benchmark measure the disk.
		cfg.WriteString("forceSync=no\nautopurge.purgeInterval=0\n")
		if n > 1 {
			for j, p := range ps {
				fmt.Fprintf(&cfg, "server.%d=127.0.0.1:%d:%d\n", j+1, p.peer, p.election)
			}
			if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(i+1)), 0o644); err != nil {
				t.Fatalf("testenv: zookeeper myid: %v", err)
			}
		}
		cfgFile := filepath.Join(dir, "zoo.cfg")
		if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o644); err != nil {
			t.Fatalf("testenv: zoo.cfg: %v", err)
		}
		s := &ZKServer{ID: i + 1, Addr: fmt.Sprintf("127.0.0.1:%d", ps[i].client)}
		s.proc = StartProcess(t, dir, java,
			"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
			"-Dzookeeper.root.logger=WARN,CONSOLE", "-Dzookeeper.log.dir="+dir,
			"-cp", zkClassPath,
			"org.apache.zookeeper.server.quorum.QuorumPeerMain", cfgFile)
		z.Servers = append(z.Servers, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := z.WaitServing(ctx); err != nil {
		t.Fatalf("testenv: zookeeper did not start: %v\n%s", err, z.Output())
	}
	return z
}

func findZooKeeper() (string, error) {
	if _, err := os.Stat(zkJars); err != nil {
		return "", fmt.Errorf("ZooKeeper is not installed (%s missing): run `make deps` (it installs Debian's zookeeper package)", zkJars)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("java not found (ZooKeeper needs it): run `make deps` (it installs Debian's zookeeper package and its JRE)")
	}
	return java, nil
}

// Addrs is the client address of every server.
func (z *ZooKeeper) Addrs() []string {
	out := make([]string, len(z.Servers))
	for i, s := range z.Servers {
		out[i] = s.Addr
	}
	return out
}

// URL is the --zk connection string for chroot (which starts with a slash).
func (z *ZooKeeper) URL(chroot string) string {
	return "zk://" + strings.Join(z.Addrs(), ",") + chroot
}

// WaitServing waits until every running server answers `srvr` as part of a
// quorum (standalone, leader or follower).
func (z *ZooKeeper) WaitServing(ctx context.Context) error {
	for _, s := range z.Servers {
		if !s.proc.Running() {
			continue
		}
		for {
			mode, err := s.Mode()
			if err == nil && mode != "" {
				break
			}
			if !s.proc.Running() {
				return fmt.Errorf("zookeeper server %d exited", s.ID)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("zookeeper server %d at %s not serving: %v (last error %v)", s.ID, s.Addr, ctx.Err(), err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// Leader returns the index in Servers of the ensemble's leader (or the
// standalone server), -1 if none serves as such.
func (z *ZooKeeper) Leader() int {
	for i, s := range z.Servers {
		if m, err := s.Mode(); err == nil && (m == "leader" || m == "standalone") {
			return i
		}
	}
	return -1
}

// Output is every server's log, for failing tests.
func (z *ZooKeeper) Output() string {
	var b strings.Builder
	for _, s := range z.Servers {
		fmt.Fprintf(&b, "--- zookeeper %d (%s)\n%s", s.ID, s.Addr, s.proc.Output())
	}
	return b.String()
}

// Kill kills the server with SIGKILL.
func (s *ZKServer) Kill() { s.proc.Kill() }

// Pause stops the server with SIGSTOP; Resume continues it.
func (s *ZKServer) Pause() error  { return s.proc.Pause() }
func (s *ZKServer) Resume() error { return s.proc.Resume() }

// Restart starts a killed server again with the same configuration and data.
func (s *ZKServer) Restart() error {
	if s.proc.Running() {
		s.proc.Kill()
	}
	return s.proc.Start()
}

// Running reports whether the server process is alive.
func (s *ZKServer) Running() bool { return s.proc.Running() }

// Mode asks the server with `srvr` what it is: standalone, leader or
// follower; "" with no error when it runs but does not serve (no quorum).
func (s *ZKServer) Mode() (string, error) {
	out, err := FourLetterWord(s.Addr, "srvr", time.Second)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if m, ok := strings.CutPrefix(line, "Mode: "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return "", nil
}

// FourLetterWord sends one of ZooKeeper's four-letter commands (ruok, srvr,
// stat, mntr...) and returns the answer.
func FourLetterWord(addr, cmd string, timeout time.Duration) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", fmt.Errorf("zookeeper %s %s: %w", addr, cmd, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte(cmd)); err != nil {
		return "", fmt.Errorf("zookeeper %s %s: %w", addr, cmd, err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return "", fmt.Errorf("zookeeper %s %s: %w", addr, cmd, err)
	}
	return string(b), nil
}

// ZKProxy forwards TCP to one ZooKeeper server and can cut every connection
// through it: a client connected through it can be partitioned from the
// ensemble on demand, which is how tests make a session expire for real.
type ZKProxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	blocked bool
	conns   map[net.Conn]bool
}

// Proxy starts a proxy to server i, closed when the test ends.
func (z *ZooKeeper) Proxy(t testing.TB, i int) *ZKProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: zookeeper proxy: %v", err)
	}
	p := &ZKProxy{ln: ln, target: z.Servers[i].Addr, conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.serve()
	}()
	t.Cleanup(func() {
		ln.Close()
		p.Block()
		wg.Wait()
	})
	return p
}

// Addr is the address clients connect to instead of the server's.
func (p *ZKProxy) Addr() string { return p.ln.Addr().String() }

func (p *ZKProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.blocked {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		go pipe(c, s)
		go pipe(s, c)
	}
}

func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// Block closes every connection through the proxy and refuses new ones
// until Unblock: the client's session expires after its timeout.
func (p *ZKProxy) Block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// Unblock lets the client reconnect.
func (p *ZKProxy) Unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = false
}
