package gitsource

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// SignatureState is what a commit's signature says about it.
type SignatureState string

const (
	// Unsigned: the commit carries no signature.
	Unsigned SignatureState = "unsigned"
	// Good: signed by a trusted key, and the signature matches the commit.
	Good SignatureState = "good"
	// Bad: the signature does not match the commit (it was altered after
	// signing) or cannot be read.
	Bad SignatureState = "bad"
	// Untrusted: signed by a key that is not among the trusted ones.
	Untrusted SignatureState = "untrusted"
	// Unchecked: signed, but no trusted keys were given to check it with.
	Unchecked SignatureState = "unchecked"
)

// Signature formats, as git's gpg.format names them.
const (
	FormatOpenPGP = "openpgp"
	FormatSSH     = "ssh"
)

// Signature is the verdict on one commit's signature.
type Signature struct {
	State SignatureState `json:"state"`
	// Format is "openpgp" or "ssh"; empty for an unsigned commit.
	Format string `json:"format,omitempty"`
	// Key is the signing key: an OpenPGP fingerprint (or only its key id
	// when the signature names no fingerprint and the key is unknown), or
	// an SSH key's SHA256 fingerprint.
	Key string `json:"key,omitempty"`
	// Signer is who the trusted key belongs to: the OpenPGP user id, or the
	// principals of the allowed-signers line. Empty unless trusted.
	Signer string `json:"signer,omitempty"`
	// Reason says why a signature is bad.
	Reason string `json:"reason,omitempty"`
}

// String says it as a review or a status shows it.
func (s Signature) String() string {
	switch s.State {
	case Unsigned:
		return "unsigned"
	case Good:
		if s.Signer != "" {
			return fmt.Sprintf("good %s signature by %s (%s)", s.Format, s.Key, s.Signer)
		}
		return fmt.Sprintf("good %s signature by %s", s.Format, s.Key)
	case Bad:
		return fmt.Sprintf("bad %s signature by %s: %s", s.Format, s.keyOrUnknown(), s.Reason)
	case Untrusted:
		return fmt.Sprintf("%s signature by an untrusted key %s", s.Format, s.keyOrUnknown())
	case Unchecked:
		return fmt.Sprintf("%s signature by %s (not checked: no trusted keys given)", s.Format, s.keyOrUnknown())
	}
	return string(s.State)
}

func (s Signature) keyOrUnknown() string {
	if s.Key == "" {
		return "an unknown key"
	}
	return s.Key
}

// Err is nil for a good signature, and otherwise the reason commit must not
// be applied, worded for the status a rejected commit shows.
func (s Signature) Err(commit string) error {
	c := commit
	if len(c) > 12 {
		c = c[:12]
	}
	switch s.State {
	case Good:
		return nil
	case Unsigned:
		return fmt.Errorf("commit %s is not signed: only commits signed by a trusted key are applied", c)
	case Untrusted:
		return fmt.Errorf("commit %s is signed by an untrusted key %s (%s): only commits signed by a trusted key are applied", c, s.keyOrUnknown(), s.Format)
	case Unchecked:
		return fmt.Errorf("commit %s is signed by %s but no trusted keys are configured", c, s.keyOrUnknown())
	}
	return fmt.Errorf("commit %s has a bad %s signature by %s: %s", c, s.Format, s.keyOrUnknown(), s.Reason)
}

// TrustedKeys are the keys whose signatures make a commit acceptable: an
// OpenPGP key ring, and SSH allowed signers (ssh-keygen -Y verify's
// allowed_signers format).
type TrustedKeys struct {
	pgp openpgp.EntityList
	ssh []allowedSigner
}

// Empty reports whether no key at all is trusted.
func (k *TrustedKeys) Empty() bool { return k == nil || len(k.pgp) == 0 && len(k.ssh) == 0 }

// LoadTrustedKeys reads trusted-key files. Each is either armored OpenPGP
// public keys (one or more "BEGIN PGP PUBLIC KEY BLOCK" blocks, as gpg
// --armor --export writes them) or an SSH allowed-signers file (ssh-keygen
// -Y verify's allowed_signers format), told apart by their contents; ""
// is skipped. A file that holds no key is an error: an operator who asks
// for signed commits and gets an empty key ring would have every commit
// rejected.
func LoadTrustedKeys(files ...string) (*TrustedKeys, error) {
	k := &TrustedKeys{}
	for _, file := range files {
		if file == "" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read trusted keys: %w", err)
		}
		if strings.Contains(string(data), pgpKeyBegin) {
			keys, err := parsePGPKeys(file, data)
			if err != nil {
				return nil, err
			}
			k.pgp = append(k.pgp, keys...)
			continue
		}
		signers, err := parseAllowedSigners(file, data)
		if err != nil {
			return nil, err
		}
		k.ssh = append(k.ssh, signers...)
	}
	return k, nil
}

const pgpKeyBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"

// parsePGPKeys reads every armored public key block in data: files made by
// concatenating several exports are common, and openpgp reads only one
// block at a time.
func parsePGPKeys(file string, data []byte) (openpgp.EntityList, error) {
	text := string(data)
	var list openpgp.EntityList
	for {
		i := strings.Index(text, pgpKeyBegin)
		if i < 0 {
			break
		}
		line := 1 + strings.Count(string(data[:len(data)-len(text)+i]), "\n")
		text = text[i:]
		end := strings.Index(text[len(pgpKeyBegin):], pgpKeyBegin)
		block := text
		if end >= 0 {
			block, text = text[:len(pgpKeyBegin)+end], text[len(pgpKeyBegin)+end:]
		} else {
			text = ""
		}
		keys, err := openpgp.ReadArmoredKeyRing(strings.NewReader(block))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: OpenPGP public key block: %w", file, line, err)
		}
		list = append(list, keys...)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: no %q found: give armored OpenPGP public keys (gpg --armor --export KEYID)", file, pgpKeyBegin)
	}
	return list, nil
}

// allowedSigner is one line of an allowed-signers file.
type allowedSigner struct {
	principals  string
	key         ssh.PublicKey
	namespaces  []string // empty: any
	validAfter  time.Time
	validBefore time.Time
}

// parseAllowedSigners reads an allowed_signers file as ssh-keygen(1)
// describes it: "principals [options] keytype base64-key [comment]", with
// the options namespaces=, valid-after= and valid-before=. cert-authority
// lines (trusting certificates) are refused, not silently ignored.
func parseAllowedSigners(file string, data []byte) ([]allowedSigner, error) {
	var out []allowedSigner
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s:%d", file, n+1)
		principals, rest, ok := cutPrincipals(line)
		if !ok {
			return nil, fmt.Errorf("%s: not an allowed-signers line (principals [options] keytype key) nor armored OpenPGP keys", where)
		}
		key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(rest))
		if err != nil {
			return nil, fmt.Errorf("%s: not an allowed-signers line (principals [options] keytype key) nor armored OpenPGP keys: %w", where, err)
		}
		s := allowedSigner{principals: principals, key: key}
		for _, o := range options {
			name, value, _ := strings.Cut(o, "=")
			value = strings.Trim(value, `"`)
			switch strings.ToLower(name) {
			case "namespaces":
				s.namespaces = strings.Split(value, ",")
			case "valid-after", "valid-before":
				t, err := parseSSHTime(value)
				if err != nil {
					return nil, fmt.Errorf("%s: option %s: %w", where, name, err)
				}
				if strings.EqualFold(name, "valid-after") {
					s.validAfter = t
				} else {
					s.validBefore = t
				}
			case "cert-authority":
				return nil, fmt.Errorf("%s: option cert-authority: SSH certificates are not supported; list the signers' own keys", where)
			default:
				return nil, fmt.Errorf("%s: unknown option %q (want namespaces=, valid-after= or valid-before=)", where, name)
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no key: want armored OpenPGP public keys (gpg --armor --export KEYID) or SSH allowed-signers lines (principals keytype key)", file)
	}
	return out, nil
}

// cutPrincipals splits the leading principals field (which may be quoted)
// from the rest of an allowed-signers line.
func cutPrincipals(line string) (principals, rest string, ok bool) {
	if strings.HasPrefix(line, `"`) {
		end := strings.Index(line[1:], `"`)
		if end < 0 {
			return "", "", false
		}
		return line[1 : 1+end], strings.TrimSpace(line[2+end:]), true
	}
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return "", "", false
	}
	return line[:i], strings.TrimSpace(line[i:]), true
}

// parseSSHTime reads ssh-keygen's YYYYMMDD[HHMM[SS]][Z] times (local time
// unless Z).
func parseSSHTime(v string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		v, loc = v[:len(v)-1], time.UTC
	}
	for _, layout := range []string{"20060102", "200601021504", "20060102150405"} {
		if len(v) == len(layout) {
			if t, err := time.ParseInLocation(layout, v, loc); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want YYYYMMDD[HHMM[SS]][Z]", v)
}

// Verify checks commit's signature against keys (nil: no trusted keys, and
// a signed commit is reported Unchecked). The error is only for a commit
// that cannot be read; a missing or bad signature is a Signature state.
func (s *Source) Verify(commit string, keys *TrustedKeys) (Signature, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return Signature{}, fmt.Errorf("read commit %s: %w", commit, err)
	}
	return verifyCommit(c, keys), nil
}

func verifyCommit(c *object.Commit, keys *TrustedKeys) Signature {
	sig := strings.TrimSpace(c.PGPSignature)
	if sig == "" {
		return Signature{State: Unsigned}
	}
	payload := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(payload); err != nil {
		return Signature{State: Bad, Reason: fmt.Sprintf("cannot encode the signed payload: %v", err)}
	}
	r, err := payload.Reader()
	if err != nil {
		return Signature{State: Bad, Reason: err.Error()}
	}
	message, err := io.ReadAll(r)
	if err != nil {
		return Signature{State: Bad, Reason: err.Error()}
	}
	switch {
	case strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----"):
		return verifyPGP(message, sig, keys)
	case strings.HasPrefix(sig, sshSigBegin):
		return verifySSH(message, sig, keys, c.Committer.When)
	}
	first, _, _ := strings.Cut(sig, "\n")
	return Signature{State: Bad, Reason: fmt.Sprintf("unsupported signature format %q (want OpenPGP or SSH)", first)}
}

func verifyPGP(message []byte, sig string, keys *TrustedKeys) Signature {
	out := Signature{Format: FormatOpenPGP}
	if strings.Count(sig, "-----BEGIN PGP SIGNATURE-----") > 1 {
		out.State, out.Reason = Bad, "more than one signature"
		return out
	}
	issuer, err := pgpIssuer(sig)
	if err != nil {
		out.State, out.Reason = Bad, err.Error()
		return out
	}
	out.Key = issuer
	if keys == nil || len(keys.pgp) == 0 {
		out.State = Unchecked
		if keys != nil {
			out.State = Untrusted
		}
		return out
	}
	signer, err := openpgp.CheckArmoredDetachedSignature(keys.pgp, bytes.NewReader(message), strings.NewReader(sig), nil)
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		out.State = Untrusted
		return out
	case err != nil:
		out.State, out.Reason = Bad, err.Error()
		if signer != nil {
			out.Key = fmt.Sprintf("%X", signer.PrimaryKey.Fingerprint)
		}
		return out
	}
	out.State = Good
	out.Key = fmt.Sprintf("%X", signer.PrimaryKey.Fingerprint)
	if id := signer.PrimaryIdentity(); id != nil {
		out.Signer = id.Name
	}
	return out
}

// pgpIssuer names the key an armored signature says made it: the issuer
// fingerprint when present (modern gpg), else the 64-bit key id.
func pgpIssuer(sig string) (string, error) {
	block, err := armor.Decode(strings.NewReader(sig))
	if err != nil {
		return "", fmt.Errorf("cannot read the OpenPGP signature: %w", err)
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		return "", fmt.Errorf("cannot read the OpenPGP signature: %w", err)
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		return "", fmt.Errorf("the OpenPGP signature holds a %T, not a signature", p)
	}
	switch {
	case len(s.IssuerFingerprint) > 0:
		return fmt.Sprintf("%X", s.IssuerFingerprint), nil
	case s.IssuerKeyId != nil:
		return fmt.Sprintf("%016X", *s.IssuerKeyId), nil
	}
	return "", nil
}

const (
	sshSigBegin = "-----BEGIN SSH SIGNATURE-----"
	sshSigEnd   = "-----END SSH SIGNATURE-----"
	sshSigMagic = "SSHSIG"
	// gitNamespace is the namespace git signs commits in (ssh-keygen -n git).
	gitNamespace = "git"
)

// sshSig is the SSHSIG blob (OpenSSH's PROTOCOL.sshsig) after the magic.
type sshSig struct {
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  string
	HashAlg   string
	Signature []byte
}

// verifySSH verifies an armored SSHSIG signature of message as ssh-keygen
// -Y verify does for git: namespace "git", a key listed in the allowed
// signers for that namespace and valid at the commit's time.
func verifySSH(message []byte, armored string, keys *TrustedKeys, when time.Time) Signature {
	out := Signature{Format: FormatSSH}
	sig, pub, err := parseSSHSig(armored)
	if err != nil {
		out.State, out.Reason = Bad, err.Error()
		return out
	}
	out.Key = ssh.FingerprintSHA256(pub)
	if sig.Namespace != gitNamespace {
		out.State, out.Reason = Bad, fmt.Sprintf("signed in namespace %q, not %q", sig.Namespace, gitNamespace)
		return out
	}
	var digest []byte
	switch sig.HashAlg {
	case "sha512":
		h := sha512.Sum512(message)
		digest = h[:]
	case "sha256":
		h := sha256.Sum256(message)
		digest = h[:]
	default:
		out.State, out.Reason = Bad, fmt.Sprintf("unsupported hash algorithm %q", sig.HashAlg)
		return out
	}
	var inner ssh.Signature
	if err := ssh.Unmarshal(sig.Signature, &inner); err != nil {
		out.State, out.Reason = Bad, fmt.Sprintf("cannot read the signature: %v", err)
		return out
	}
	// The signature covers the magic, then namespace, reserved, hash
	// algorithm and digest as SSH strings.
	signed := append([]byte(sshSigMagic), ssh.Marshal(struct {
		Namespace string
		Reserved  string
		HashAlg   string
		Digest    []byte
	}{sig.Namespace, sig.Reserved, sig.HashAlg, digest})...)

	var signer *allowedSigner
	if keys != nil {
		for i := range keys.ssh {
			a := &keys.ssh[i]
			if bytes.Equal(a.key.Marshal(), pub.Marshal()) && a.allows(gitNamespace, when) {
				signer = a
				break
			}
		}
	}
	if signer == nil {
		out.State = Untrusted
		if keys == nil {
			out.State = Unchecked
		}
		return out
	}
	if inner.Format == ssh.KeyAlgoRSA {
		// SHA-1 RSA signatures are refused by ssh-keygen for SSHSIG too.
		out.State, out.Reason = Bad, "ssh-rsa (SHA-1) signatures are not accepted"
		return out
	}
	if err := pub.Verify(signed, &inner); err != nil {
		out.State, out.Reason = Bad, fmt.Sprintf("the signature does not match the commit: %v", err)
		return out
	}
	out.State, out.Signer = Good, signer.principals
	return out
}

func (a *allowedSigner) allows(namespace string, when time.Time) bool {
	if len(a.namespaces) > 0 {
		ok := false
		for _, n := range a.namespaces {
			ok = ok || n == namespace
		}
		if !ok {
			return false
		}
	}
	if !a.validAfter.IsZero() && when.Before(a.validAfter) {
		return false
	}
	if !a.validBefore.IsZero() && !when.Before(a.validBefore) {
		return false
	}
	return true
}

// parseSSHSig decodes an armored SSHSIG and the public key it names.
func parseSSHSig(armored string) (*sshSig, ssh.PublicKey, error) {
	body := strings.TrimSpace(armored)
	if len(body) < len(sshSigBegin)+len(sshSigEnd) || !strings.HasPrefix(body, sshSigBegin) || !strings.HasSuffix(body, sshSigEnd) {
		return nil, nil, errors.New("malformed SSH signature armor")
	}
	body = strings.Join(strings.Fields(body[len(sshSigBegin):len(body)-len(sshSigEnd)]), "")
	blob, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, nil, fmt.Errorf("SSH signature: %w", err)
	}
	if len(blob) < len(sshSigMagic)+4 || string(blob[:len(sshSigMagic)]) != sshSigMagic {
		return nil, nil, errors.New("SSH signature: no SSHSIG magic")
	}
	if v := binary.BigEndian.Uint32(blob[len(sshSigMagic):]); v != 1 {
		return nil, nil, fmt.Errorf("SSH signature: version %d, want 1", v)
	}
	var sig sshSig
	if err := ssh.Unmarshal(blob[len(sshSigMagic):], &sig); err != nil {
		return nil, nil, fmt.Errorf("SSH signature: %w", err)
	}
	pub, err := ssh.ParsePublicKey(sig.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("SSH signature: public key: %w", err)
	}
	return &sig, pub, nil
}
