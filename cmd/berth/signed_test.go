package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthops/berth/cluster/memstore"
	"github.com/berthops/berth/testenv"
)

const signedApp = "kind: App\nid: /web\ninstances: %d\ncmd: ./web\ncpus: 0.1\nmem: 32\n"

// trustedKeyFiles writes the public halves of keys as --trusted-keys files.
func trustedKeyFiles(t *testing.T, keys ...*testenv.SigningKey) []string {
	t.Helper()
	var files []string
	for i, k := range keys {
		f := filepath.Join(t.TempDir(), k.Format+string(rune('a'+i)))
		if err := os.WriteFile(f, []byte(k.Public), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// TestDiffSignatures: berth diff shows each commit's signature state in
// every format, checked against --trusted-keys, on commits the real git
// signed with real gpg and ssh-keygen keys.
func TestDiffSignatures(t *testing.T) {
	alice := testenv.NewGPGKey(t, "alice@berth.invalid")
	bob := testenv.NewSSHKey(t, "bob@berth.invalid")
	eve := testenv.NewSSHKey(t, "eve@berth.invalid")
	repo := testenv.NewSignedRepo(t)
	base := repo.Commit(t, map[string]string{"apps/web.yaml": strings.Replace(signedApp, "%d", "1", 1)}, "web x1", alice)
	unsigned := repo.Commit(t, map[string]string{"apps/web.yaml": strings.Replace(signedApp, "%d", "2", 1)}, "web x2", nil)
	byBob := repo.Commit(t, nil, "web x2 by bob", bob)
	byEve := repo.Commit(t, nil, "web x2 by eve", eve)
	tampered := repo.Tamper(t, base, unsigned)
	trusted := trustedKeyFiles(t, alice, bob)
	withKeys := []string{"--trusted-keys", trusted[0], "--trusted-keys", trusted[1]}

	for _, tt := range []struct {
		head string
		keys []string
		want string
	}{
		{unsigned, withKeys, "head unsigned"},
		{byBob, withKeys, "head good ssh signature by " + bob.ID + " (bob@berth.invalid)"},
		{byEve, withKeys, "head ssh signature by an untrusted key " + eve.ID},
		{tampered, withKeys, "head BAD openpgp signature by " + alice.ID},
		{byBob, nil, "head ssh signature by " + bob.ID + " (not checked: no --trusted-keys)"},
	} {
		args := append([]string{"diff", "--repo", repo.Dir, "--base", base, "--head", tt.head}, tt.keys...)
		for _, format := range []string{"text", "markdown"} {
			out, errOut, code := runDiffCmd(t, append(args, "--format", format)...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, errOut)
			}
			wantBase := "Signatures: base good openpgp signature by " + alice.ID
			if tt.keys == nil {
				wantBase = "Signatures: base openpgp signature by " + alice.ID + " (not checked"
			}
			if !strings.Contains(out, wantBase) {
				t.Errorf("%s: the base's signature is not shown:\n%s", format, out)
			}
			want := tt.want
			if format == "markdown" {
				want = strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(want)
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s with head %s: want %q in:\n%s", format, tt.head[:12], want, out)
			}
		}
	}

	out, errOut, code := runDiffCmd(t, append([]string{"diff", "--repo", repo.Dir, "--base", base, "--head", byEve, "--format", "json"}, withKeys...)...)
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, errOut)
	}
	type sig struct{ State, Format, Key, Signer string }
	var doc struct {
		SchemaVersion int
		Base, Head    struct{ Signature *sig }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SchemaVersion != 1 || doc.Base.Signature == nil || doc.Head.Signature == nil {
		t.Fatalf("json lacks the signatures:\n%s", out)
	}
	if got, want := *doc.Base.Signature, (sig{"good", "openpgp", alice.ID, "Berth Test <alice@berth.invalid>"}); got != want {
		t.Errorf("base signature %+v, want %+v", got, want)
	}
	if got, want := *doc.Head.Signature, (sig{"untrusted", "ssh", eve.ID, ""}); got != want {
		t.Errorf("head signature %+v, want %+v", got, want)
	}

	// A repository that signs nothing, diffed without --trusted-keys, says
	// nothing about signatures.
	plain := testenv.NewSignedRepo(t)
	c1 := plain.Commit(t, map[string]string{"apps/web.yaml": strings.Replace(signedApp, "%d", "1", 1)}, "one", nil)
	c2 := plain.Commit(t, map[string]string{"apps/web.yaml": strings.Replace(signedApp, "%d", "2", 1)}, "two", nil)
	for _, format := range []string{"text", "json"} {
		out, _, _ := runDiffCmd(t, "diff", "--repo", plain.Dir, "--base", c1, "--head", c2, "--format", format)
		if strings.Contains(strings.ToLower(out), "signature") {
			t.Errorf("%s: an unsigned repository's diff mentions signatures:\n%s", format, out)
		}
	}
	if _, errOut, code := runDiffCmd(t, "diff", "--repo", repo.Dir, "--base", base, "--trusted-keys", filepath.Join(t.TempDir(), "none")); code != 1 || !strings.Contains(errOut, "--trusted-keys") {
		t.Errorf("a missing --trusted-keys file: exit %d, %q", code, errOut)
	}
}

// TestControlPlaneTrustedKeys: the server's --trusted-keys reach the loop,
// which rejects an unsigned head with the reason in its status and applies
// a signed one; a key file that holds no key stops the server at start.
func TestControlPlaneTrustedKeys(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := testenv.NewGPGKey(t, "alice@berth.invalid")
	repo := testenv.NewSignedRepo(t)
	unsigned := repo.Commit(t, map[string]string{"apps/web.yaml": strings.Replace(signedApp, "%d", "0", 1)}, "unsigned", nil)
	tree := memstore.New()
	logger := slog.New(slog.DiscardHandler)
	flags := controlFlags{repo: repo.FileURL(), branch: "main", cacheDir: t.TempDir(), poll: time.Hour,
		resync: 20 * time.Millisecond, prune: true, trustedKeys: trustedKeyFiles(t, alice)}

	empty := filepath.Join(t.TempDir(), "empty.asc")
	if err := os.WriteFile(empty, []byte("# no keys yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := flags
	bad.trustedKeys = []string{empty}
	if _, err := newControlPlane(ctx, logger, tree.Client(), bad); err == nil || !strings.Contains(err.Error(), "--trusted-keys: "+empty+": no key") {
		t.Fatalf("an empty trusted-keys file: %v", err)
	}

	cp, err := newControlPlane(ctx, logger, tree.Client(), flags)
	if err != nil {
		t.Fatal(err)
	}
	lead, err := tree.Client().Campaign(ctx, "/leader", "s1")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = cp.rec.Run(ctx, lead) }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for !ok() {
			select {
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %s: %+v", what, cp.rec.Status())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	waitFor("the unsigned head rejected", func() bool {
		s := cp.rec.Status()
		return s.Rejected != nil && s.Rejected.Commit == unsigned && len(s.Rejected.Errors) == 1 &&
			strings.Contains(s.Rejected.Errors[0], "commit "+unsigned[:12]+" is not signed")
	})
	if s := cp.rec.Status(); s.Desired != "" {
		t.Fatalf("an unsigned commit became desired: %+v", s)
	}
	signed := repo.Commit(t, map[string]string{"apps/web.yaml": strings.Replace(signedApp, "%d", "1", 1)}, "signed", alice)
	cp.rec.Sync()
	waitFor("the signed head applied", func() bool { s := cp.rec.Status(); return s.Desired == signed && s.Rejected == nil })
}
