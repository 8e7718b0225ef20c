package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SigningKey is a key a test made with the real gpg or ssh-keygen, which
// the real git signs commits with.
type SigningKey struct {
	// Format is git's gpg.format: "openpgp" or "ssh".
	Format string
	// ID is the OpenPGP fingerprint, or the SSH key's SHA256 fingerprint
	// ("SHA256:..."), as Berth reports it.
	ID string
	// Public is the armored OpenPGP public key, or an allowed-signers line
	// ("email keytype key") for an SSH key: what a trusted-keys file holds.
	Public string

	signingKey string   // git's user.signingkey
	env        []string // GNUPGHOME for OpenPGP
}

// NewGPGKey makes an ed25519 OpenPGP signing key for email in a GNUPGHOME
// of its own (a short path: gpg-agent's socket lives there), and stops its
// gpg-agent when the test ends.
func NewGPGKey(t testing.TB, email string) *SigningKey {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatalf("gpg is not installed: %v (run `make deps`, or apt-get install gnupg)", err)
	}
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GNUPGHOME="+home)
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "all")
		cmd.Env = env
		_ = cmd.Run()
		os.RemoveAll(home)
	})
	run(t, env, "", "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-generate-key", "Berth Test <"+email+">", "ed25519", "sign", "never")
	var fpr string
	for _, line := range strings.Split(run(t, env, "", "gpg", "--batch", "--with-colons", "--list-keys", email), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			fpr = f[9]
			break
		}
	}
	if fpr == "" {
		t.Fatalf("gpg made no key for %s", email)
	}
	return &SigningKey{Format: "openpgp", ID: fpr, signingKey: fpr, env: env,
		Public: run(t, env, "", "gpg", "--batch", "--armor", "--export", fpr)}
}

// NewSSHKey makes an ed25519 SSH key for email with ssh-keygen.
func NewSSHKey(t testing.TB, email string) *SigningKey {
	t.Helper()
	return NewSSHKeyOfType(t, email, "ed25519")
}

// NewSSHKeyOfType makes an SSH key of ssh-keygen's type typ (ed25519,
// ecdsa, rsa) for email.
func NewSSHKeyOfType(t testing.TB, email, typ string) *SigningKey {
	t.Helper()
	file := filepath.Join(t.TempDir(), "id_"+typ)
	run(t, nil, "", "ssh-keygen", "-q", "-t", typ, "-N", "", "-C", email, "-f", file)
	pub, err := os.ReadFile(file + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(pub))
	fp := strings.Fields(run(t, nil, "", "ssh-keygen", "-l", "-E", "sha256", "-f", file+".pub"))
	if len(f) < 2 || len(fp) < 2 {
		t.Fatalf("ssh-keygen made an unreadable key: %q", pub)
	}
	return &SigningKey{Format: "ssh", ID: fp[1], signingKey: file,
		Public: email + " " + f[0] + " " + f[1] + "\n"}
}

// SignedRepo is a repository written by the real git CLI, so commits carry
// real OpenPGP or SSH signatures (testenv.GitRepo writes through go-git,
// which signs nothing).
type SignedRepo struct {
	Dir string
}

// NewSignedRepo makes an empty repository whose branch is main.
func NewSignedRepo(t testing.TB) *SignedRepo {
	t.Helper()
	r := &SignedRepo{Dir: t.TempDir()}
	r.git(t, nil, "init", "-q", "-b", "main")
	return r
}

// FileURL is the repository's file:// URL.
func (r *SignedRepo) FileURL() string { return "file://" + r.Dir }

// Commit writes files (paths relative to the root) and commits them on
// main, signed with key (nil: unsigned), and returns the commit.
func (r *SignedRepo) Commit(t testing.TB, files map[string]string, msg string, key *SigningKey) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.git(t, nil, "add", "-A")
	args := []string{"commit", "-q", "--allow-empty", "-m", msg}
	var env []string
	if key != nil {
		args = append([]string{"-c", "gpg.format=" + key.Format, "-c", "user.signingkey=" + key.signingKey}, append(args, "-S")...)
		env = key.env
	}
	r.git(t, env, args...)
	return r.Head(t)
}

// Head is main's commit.
func (r *SignedRepo) Head(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(r.git(t, nil, "rev-parse", "refs/heads/main"))
}

// Tamper rewrites commit with the tree of other, keeping its signature,
// and points main at the result: a commit whose signature no longer
// matches what it holds, as an attacker who can push but not sign makes.
func (r *SignedRepo) Tamper(t testing.TB, commit, other string) string {
	t.Helper()
	raw := r.git(t, nil, "cat-file", "commit", commit)
	tree := strings.TrimSpace(r.git(t, nil, "rev-parse", other+"^{tree}"))
	first, rest, _ := strings.Cut(raw, "\n")
	if !strings.HasPrefix(first, "tree ") {
		t.Fatalf("commit %s does not start with its tree: %q", commit, first)
	}
	cmd := exec.Command("git", "hash-object", "-t", "commit", "-w", "--stdin")
	cmd.Dir = r.Dir
	cmd.Stdin = strings.NewReader("tree " + tree + "\n" + rest)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git hash-object: %v", err)
	}
	forged := strings.TrimSpace(string(out))
	r.git(t, nil, "update-ref", "refs/heads/main", forged)
	return forged
}

func (r *SignedRepo) git(t testing.TB, env []string, args ...string) string {
	t.Helper()
	base := []string{"-c", "user.name=Berth Test", "-c", "user.email=test@berth.invalid", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}
	return run(t, env, r.Dir, "git", append(base, args...)...)
}

// run runs a command (with env, or the test's environment when nil) and
// returns its standard output, failing the test with its error output.
func run(t testing.TB, env []string, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
