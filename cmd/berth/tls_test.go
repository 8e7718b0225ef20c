package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/testenv"
)

// TestTLSAndForwarding checks finding 4 of issue 16 with certificates the
// test makes: two replicas serve HTTPS with mutual TLS, a follower forwards
// to the leader over it, clients need the CA and a certificate, and a
// client cannot set the forwarding marker to make a follower answer a
// leader-only request from its own idle view.
func TestTLSAndForwarding(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, "berth")
	rogue := testenv.NewCA(t, "rogue")
	repo := testenv.NewGitRepo(t, t.TempDir())
	commit := repo.Commit(t, "main", map[string]string{"apps/web.yaml": "kind: App\nid: /web\ninstances: 0\ncmd: sleep 1\n"}, "web")
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("tls-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tree := memstore.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	var urls []string
	for _, id := range []string{"s1", "s2"} {
		cert, key := ca.Issue(t, id)
		store := tree.Client()
		flags := controlFlags{repo: repo.FileURL(), branch: "main", cacheDir: t.TempDir(), poll: time.Hour,
			resync: 50 * time.Millisecond, prune: true, tokenFile: tokenFile,
			tls: server.TLSFiles{Cert: cert, Key: key, ClientCA: ca.File, PeerCA: ca.File}}
		serveTLS, peers, err := flags.tls.Load()
		if err != nil {
			t.Fatal(err)
		}
		cp, err := newControlPlane(ctx, logger, store, flags)
		if err != nil {
			t.Fatal(err)
		}
		srv := server.New(server.Config{ID: id, Store: store, Logger: logger, Lead: []server.LeadFunc{cp.rec.Run}, TLS: serveTLS})
		cp.mount(srv, peers)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Serve(ctx, ln) }()
		urls = append(urls, "https://"+ln.Addr().String())
	}
	cert, key := ca.Issue(t, "operator")
	good, err := client.TLSFiles{CA: ca.File, Cert: cert, Key: key}.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	syncStatus := func(hc *http.Client, url string, hdr map[string]string) (reconciler.Status, error) {
		req, _ := http.NewRequest(http.MethodGet, url+"/v1/sync", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return reconciler.Status{}, err
		}
		defer resp.Body.Close()
		var st reconciler.Status
		err = json.NewDecoder(resp.Body).Decode(&st)
		return st, err
	}
	// s1 leads once it has loaded the commit.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := syncStatus(good, urls[0], nil)
		if err == nil && st.Desired == commit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("s1 never loaded %s over HTTPS: %v %+v", commit, err, st)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The follower answers with the leader's view: forwarded over mutual TLS.
	st, err := syncStatus(good, urls[1], nil)
	if err != nil || st.Desired != commit {
		t.Fatalf("follower over HTTPS: %v, desired %q, want the leader's %s", err, st.Desired, commit)
	}
	// A client's forwarding marker, bare or signed with the wrong key, is
	// dropped: the follower still forwards.
	for _, mark := range []string{"1", "1700000000.deadbeef"} {
		st, err := syncStatus(good, urls[1], map[string]string{server.ForwardedHeader: mark})
		if err != nil || st.Desired != commit {
			t.Errorf("follower with a client-set %s: %s: %v, desired %q: it answered from its own view instead of the leader's",
				server.ForwardedHeader, mark, err, st.Desired)
		}
	}

	// Refused: plain HTTP, no client certificate, a certificate from another
	// CA, and a client that does not trust the server's CA.
	plain := strings.Replace(urls[1], "https://", "http://", 1)
	if resp, err := http.Get(plain + "/v1/sync"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP to the HTTPS API answered 200")
		}
	}
	noCert, _ := client.TLSFiles{CA: ca.File}.HTTPClient()
	rc, rk := rogue.Issue(t, "rogue")
	rogueCert, _ := client.TLSFiles{CA: ca.File, Cert: rc, Key: rk}.HTTPClient()
	untrusting, _ := client.TLSFiles{Cert: cert, Key: key}.HTTPClient()
	for name, hc := range map[string]*http.Client{"no client certificate": noCert, "a rogue CA's certificate": rogueCert, "the system's roots": untrusting} {
		if _, err := syncStatus(hc, urls[1], nil); err == nil {
			t.Errorf("%s: the request succeeded", name)
		}
	}

	// The CLI: berth status with --ca-cert and a client certificate.
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs([]string{"status", "--server", urls[1], "--ca-cert", ca.File, "--client-cert", cert, "--client-key", key, "-o", "json"})
	if err := root.ExecuteContext(ctx); err != nil || !strings.Contains(out.String(), commit) {
		t.Errorf("berth status over mutual TLS: %v\n%s%s", err, out.String(), errb.String())
	}
}
