package reconciler_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/reconciler/reconcilertest"
	"github.com/berthops/berth/testenv"
)

// TestLoopAppliesOnlySignedCommits: with trusted keys, the loop applies
// commits signed (by the real git, gpg and ssh-keygen) with a trusted
// OpenPGP or SSH key, and rejects whole an unsigned head, one signed by an
// untrusted key and a tampered one, keeping the cluster on the last good
// commit.
func TestLoopAppliesOnlySignedCommits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := testenv.NewGPGKey(t, "alice@berth.invalid")
	bob := testenv.NewSSHKey(t, "bob@berth.invalid")
	mallory := testenv.NewGPGKey(t, "mallory@berth.invalid")
	eve := testenv.NewSSHKey(t, "eve@berth.invalid")
	dir := t.TempDir()
	pgpFile, sshFile := filepath.Join(dir, "trusted.asc"), filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(pgpFile, []byte(alice.Public), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sshFile, []byte(bob.Public), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := gitsource.LoadTrustedKeys(pgpFile, sshFile)
	if err != nil {
		t.Fatal(err)
	}

	repo := testenv.NewSignedRepo(t)
	good := repo.Commit(t, map[string]string{"apps/web.yaml": reconcilertest.Web(2)}, "web x2", alice)
	tree := memstore.New()
	st := cluster.NewState(tree.Client())
	reconcilertest.PlayAgent(ctx, t, st, "a1")
	lead, err := tree.Client().Campaign(ctx, "/leader", "s1")
	if err != nil {
		t.Fatal(err)
	}
	src, err := reconciler.OpenGit(ctx, gitsource.Options{URL: repo.FileURL(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := reconciler.New(reconciler.Config{Branch: "main", Poll: time.Hour, Resync: 20 * time.Millisecond,
		Pass: decide.Options{Prune: true}, Verify: reconciler.RequireSigned(src, keys),
		Signatures: reconciler.DescribeSignatures(src, keys)}, src, st)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, lead) }()

	reconcilertest.WaitFor(t, ctx, "the OpenPGP-signed commit applied", func() bool {
		return r.Status().Desired == good && reconcilertest.CountRunning(ctx, st) == 2
	})

	reject := func(what, commit, want string) {
		t.Helper()
		gen := r.Sync()
		reconcilertest.WaitFor(t, ctx, what+" fetched", func() bool { return r.Status().Fetched >= gen })
		reconcilertest.WaitFor(t, ctx, what+" rejected", func() bool { s := r.Status(); return s.Rejected != nil && s.Rejected.Commit == commit })
		if errs := r.Status().Rejected.Errors; len(errs) != 1 || !strings.Contains(errs[0], want) || !strings.Contains(errs[0], commit[:12]) {
			t.Errorf("%s: rejection %q, want the commit and %q", what, errs, want)
		}
		last := r.Status().LastSync
		reconcilertest.WaitFor(t, ctx, "a pass after "+what, func() bool { return r.Status().LastSync.After(last) })
		if s := r.Status(); s.Desired != good || s.Decided == commit {
			t.Fatalf("%s: the cluster left the last good commit: desired %s, decided %s", what, s.Desired, s.Decided)
		}
		if n := reconcilertest.CountRunning(ctx, st); n != 2 {
			t.Fatalf("%s changed the cluster: %d running", what, n)
		}
	}
	unsigned := repo.Commit(t, map[string]string{"apps/web.yaml": reconcilertest.Web(5)}, "web x5, unsigned", nil)
	reject("an unsigned head", unsigned, "is not signed")
	reject("a head signed by an untrusted OpenPGP key",
		repo.Commit(t, nil, "web x5 by mallory", mallory), "untrusted key "+mallory.ID)
	reject("a head signed by an untrusted SSH key",
		repo.Commit(t, nil, "web x5 by eve", eve), "untrusted key "+eve.ID)
	reject("a tampered head", repo.Tamper(t, good, unsigned), "bad openpgp signature by "+alice.ID)

	// GET /v1/diff says what the head's and the live commit's signatures
	// are, as berth diff does.
	_, h, err := r.Diff(ctx, unsigned)
	if err != nil {
		t.Fatal(err)
	}
	if h.Head.Signature == nil || h.Head.Signature.State != "unsigned" || h.Base.Commit != good ||
		h.Base.Signature == nil || h.Base.Signature.State != "good" || h.Base.Signature.Key != alice.ID {
		t.Errorf("diff header %+v (head %+v, base %+v), want the head unsigned and the live commit good by %s",
			h, h.Head.Signature, h.Base.Signature, alice.ID)
	}

	signed := repo.Commit(t, map[string]string{"apps/web.yaml": reconcilertest.Web(3)}, "web x3 by bob", bob)
	r.Sync()
	reconcilertest.WaitFor(t, ctx, "the SSH-signed commit applied", func() bool {
		s := r.Status()
		return s.Desired == signed && s.Rejected == nil && reconcilertest.CountRunning(ctx, st) == 3
	})
	cancel()
	<-done
}
