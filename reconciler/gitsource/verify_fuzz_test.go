package gitsource

import (
	"encoding/base64"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// FuzzSignatureParsers feeds arbitrary text to the trusted-key parsers and,
// as a commit's signature header, to verification: nothing may panic, and
// nothing unparseable may verify.
func FuzzSignatureParsers(f *testing.F) {
	blob := base64.StdEncoding.EncodeToString([]byte("SSHSIG\x00\x00\x00\x01\x00\x00\x00\x0bssh-ed25519"))
	for _, seed := range []string{
		"", "a@b ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgDz4ZWLOP3CrXItdi2tX1W6Dp1ewmgPIlKsITNfHel\n",
		`"a b" namespaces="git" valid-after=20240101Z ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgDz4ZWLOP3CrXItdi2tX1W6Dp1ewmgPIlKsITNfHel`,
		"\"unterminated ssh-ed25519 AAAA",
		pgpKeyBegin + "\n\nxsBNBF\n-----END PGP PUBLIC KEY BLOCK-----\n" + pgpKeyBegin,
		"-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n",
		sshSigBegin + "\n" + blob + "\n" + sshSigEnd + "\n",
		sshSigBegin + "\nU1NIU0lH\n" + sshSigEnd,
	} {
		f.Add(seed)
	}
	keys := &TrustedKeys{}
	f.Fuzz(func(t *testing.T, data string) {
		_, _ = parseAllowedSigners("f", []byte(data))
		_, _ = parsePGPKeys("f", []byte(data))
		_, _, _ = parseSSHSig(data)
		_, _ = parseSSHTime(data)
		c := &object.Commit{Message: "m", PGPSignature: data}
		for _, k := range []*TrustedKeys{nil, keys} {
			if s := verifyCommit(c, k); s.State == Good {
				t.Fatalf("verified with no trusted key: %+v", s)
			}
		}
	})
}
