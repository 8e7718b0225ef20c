package gitsource_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/testenv"
)

// TestVerifySignedCommits signs commits with the real git, gpg and
// ssh-keygen, and checks every verdict against the trusted keys.
func TestVerifySignedCommits(t *testing.T) {
	pgpTrusted := testenv.NewGPGKey(t, "alice@berth.invalid")
	pgpStranger := testenv.NewGPGKey(t, "mallory@berth.invalid")
	sshTrusted := testenv.NewSSHKey(t, "bob@berth.invalid")
	sshStranger := testenv.NewSSHKey(t, "eve@berth.invalid")

	dir := t.TempDir()
	pgpFile := filepath.Join(dir, "trusted.asc")
	sshFile := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(pgpFile, []byte(pgpTrusted.Public), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sshFile, []byte("# the release team\n"+sshTrusted.Public), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := gitsource.LoadTrustedKeys(pgpFile, sshFile)
	if err != nil {
		t.Fatal(err)
	}

	repo := testenv.NewSignedRepo(t)
	unsigned := repo.Commit(t, map[string]string{"a.txt": "1"}, "unsigned", nil)
	pgpGood := repo.Commit(t, map[string]string{"a.txt": "2"}, "by alice", pgpTrusted)
	pgpUntrusted := repo.Commit(t, map[string]string{"a.txt": "3"}, "by mallory", pgpStranger)
	sshGood := repo.Commit(t, map[string]string{"a.txt": "4"}, "by bob", sshTrusted)
	sshUntrusted := repo.Commit(t, map[string]string{"a.txt": "5"}, "by eve", sshStranger)
	pgpTampered := repo.Tamper(t, pgpGood, unsigned)
	sshTampered := repo.Tamper(t, sshGood, unsigned)

	src, err := gitsource.Open(context.Background(), gitsource.Options{URL: repo.Dir})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	for _, tt := range []struct {
		name, commit string
		keys         *gitsource.TrustedKeys
		state        gitsource.SignatureState
		format, key  string
		err          string
	}{
		{"unsigned", unsigned, keys, gitsource.Unsigned, "", "", "is not signed"},
		{"openpgp good", pgpGood, keys, gitsource.Good, "openpgp", pgpTrusted.ID, ""},
		{"openpgp untrusted", pgpUntrusted, keys, gitsource.Untrusted, "openpgp", pgpStranger.ID, "untrusted key " + pgpStranger.ID},
		{"openpgp tampered", pgpTampered, keys, gitsource.Bad, "openpgp", pgpTrusted.ID, "bad openpgp signature"},
		{"ssh good", sshGood, keys, gitsource.Good, "ssh", sshTrusted.ID, ""},
		{"ssh untrusted", sshUntrusted, keys, gitsource.Untrusted, "ssh", sshStranger.ID, "untrusted key " + sshStranger.ID},
		{"ssh tampered", sshTampered, keys, gitsource.Bad, "ssh", sshTrusted.ID, "does not match the commit"},
		{"no keys given", pgpGood, nil, gitsource.Unchecked, "openpgp", pgpTrusted.ID, "no trusted keys"},
		{"ssh signer with only openpgp keys", sshGood, onlyPGP(t, pgpFile), gitsource.Untrusted, "ssh", sshTrusted.ID, "untrusted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := src.Verify(tt.commit, tt.keys)
			if err != nil {
				t.Fatal(err)
			}
			if sig.State != tt.state || sig.Format != tt.format || sig.Key != tt.key {
				t.Fatalf("Verify = %+v, want state %s, format %q, key %s", sig, tt.state, tt.format, tt.key)
			}
			err = sig.Err(tt.commit)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Err = %v for a good signature", err)
				}
				if sig.Signer == "" {
					t.Errorf("a good signature names no signer: %+v", sig)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.commit[:12]) {
				t.Fatalf("Err = %v, want it to name the commit and say %q", err, tt.err)
			}
		})
	}
}

func onlyPGP(t *testing.T, file string) *gitsource.TrustedKeys {
	k, err := gitsource.LoadTrustedKeys(file, "")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestVerifySSHKeyTypes: SSH signatures by ECDSA and RSA keys (which
// ssh-keygen signs with rsa-sha2-512) verify too.
func TestVerifySSHKeyTypes(t *testing.T) {
	repo := testenv.NewSignedRepo(t)
	for _, typ := range []string{"ecdsa", "rsa"} {
		key := testenv.NewSSHKeyOfType(t, typ+"@berth.invalid", typ)
		file := filepath.Join(t.TempDir(), "allowed_signers")
		if err := os.WriteFile(file, []byte(key.Public), 0o600); err != nil {
			t.Fatal(err)
		}
		keys, err := gitsource.LoadTrustedKeys(file)
		if err != nil {
			t.Fatal(err)
		}
		commit := repo.Commit(t, map[string]string{"a.txt": typ}, "by "+typ, key)
		src, err := gitsource.Open(context.Background(), gitsource.Options{URL: repo.Dir})
		if err != nil {
			t.Fatal(err)
		}
		sig, err := src.Verify(commit, keys)
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sig.State != gitsource.Good || sig.Key != key.ID || sig.Signer != typ+"@berth.invalid" {
			t.Errorf("%s: %+v, want a good signature by %s", typ, sig, key.ID)
		}
	}
}

// TestSSHSignerOptions: an allowed signer limited to another namespace, or
// to a time window the commit is outside, does not make it trusted.
func TestSSHSignerOptions(t *testing.T) {
	key := testenv.NewSSHKey(t, "bob@berth.invalid")
	repo := testenv.NewSignedRepo(t)
	commit := repo.Commit(t, map[string]string{"a.txt": "1"}, "by bob", key)
	src, err := gitsource.Open(context.Background(), gitsource.Options{URL: repo.Dir})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fields := strings.Fields(key.Public)
	for _, tt := range []struct {
		options string
		state   gitsource.SignatureState
	}{
		{`namespaces="git"`, gitsource.Good},
		{`namespaces="file,git"`, gitsource.Good},
		{`namespaces="file"`, gitsource.Untrusted},
		{`valid-after="20000101"`, gitsource.Good},
		{`valid-before="20000101Z"`, gitsource.Untrusted},
		{`valid-after="29990101"`, gitsource.Untrusted},
	} {
		file := filepath.Join(t.TempDir(), "allowed_signers")
		line := fields[0] + " " + tt.options + " " + fields[1] + " " + fields[2] + "\n"
		if err := os.WriteFile(file, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		keys, err := gitsource.LoadTrustedKeys("", file)
		if err != nil {
			t.Fatalf("%s: %v", tt.options, err)
		}
		sig, err := src.Verify(commit, keys)
		if err != nil {
			t.Fatal(err)
		}
		if sig.State != tt.state {
			t.Errorf("with %s: %+v, want %s", tt.options, sig, tt.state)
		}
	}
}

// TestLoadTrustedKeysErrors: a key file that trusts nothing, or that cannot
// be read, is refused with its file and line.
func TestLoadTrustedKeysErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		pgp, ssh string
		want     string
	}{
		{pgp: write("empty.asc", "nothing here\n"), want: "empty.asc:1: not an allowed-signers line"},
		{pgp: write("broken.asc", "\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64!\n-----END PGP PUBLIC KEY BLOCK-----\n"), want: "broken.asc:2:"},
		{ssh: write("empty_signers", "# nobody\n"), want: "empty_signers: no key"},
		{ssh: write("bad_key", "a@b ssh-ed25519 AAAAnotakey\n"), want: "bad_key:1: not an allowed-signers line"},
		{ssh: write("ca", "a@b cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgDz4ZWLOP3CrXItdi2tX1W6Dp1ewmgPIlKsITNfHel\n"), want: "ca:1: option cert-authority"},
		{ssh: write("opt", "a@b frobnicate ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgDz4ZWLOP3CrXItdi2tX1W6Dp1ewmgPIlKsITNfHel\n"), want: "opt:1: unknown option \"frobnicate\""},
		{ssh: write("time", "a@b valid-after=\"yesterday\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgDz4ZWLOP3CrXItdi2tX1W6Dp1ewmgPIlKsITNfHel\n"), want: "time:1: option valid-after"},
		{pgp: filepath.Join(dir, "missing.asc"), want: "missing.asc"},
	} {
		_, err := gitsource.LoadTrustedKeys(tt.pgp, tt.ssh)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadTrustedKeys(%q, %q) = %v, want %q", tt.pgp, tt.ssh, err, tt.want)
		}
	}
}
