// Package secrets is the cryptography of Berth's Secrets: encrypting a set
// of values to age recipients as a Secret manifest (berth secret encrypt and
// edit), opening the Secrets a commit references with the servers' identity
// (a Keyring, kept only in the leader's memory), sealing a task's values to
// the age recipient of the agent that runs it, and opening them there.
//
// Values never leave this package in the clear except as the Keyring's and
// Unseal's results; those types print and log as "[redacted]". Reading and
// writing files, the editor and the Docker side are the callers' business.
package secrets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"gopkg.in/yaml.v3"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// MaxValuesBytes bounds a Secret's or a sealed task's plaintext, so a
// hostile ciphertext cannot make a server allocate without limit.
const MaxValuesBytes = 1 << 20

// Values are decrypted key/values. They never print: fmt and slog show
// "[redacted]", so a stray log line or error cannot leak them.
type Values map[string]string

func (Values) String() string       { return "[redacted]" }
func (Values) GoString() string     { return "[redacted]" }
func (Values) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Identity is an operator's or an agent's age identity and its recipient.
type Identity struct {
	ids       []age.Identity
	recipient string
}

func (Identity) String() string       { return "[age identity]" }
func (Identity) LogValue() slog.Value { return slog.StringValue("[age identity]") }

// Recipient is the public key matching the identity (the first one, when a
// file holds several).
func (i *Identity) Recipient() string { return i.recipient }

// ParseIdentity reads an age identity file (AGE-SECRET-KEY-1... lines, as
// age-keygen writes). Errors never quote the file: it holds private keys.
func ParseIdentity(r io.Reader) (*Identity, error) {
	ids, err := age.ParseIdentities(r)
	if err != nil {
		return nil, fmt.Errorf("read age identity: %w", err)
	}
	out := &Identity{ids: ids}
	switch id := ids[0].(type) {
	case *age.X25519Identity:
		out.recipient = id.Recipient().String()
	case *age.HybridIdentity:
		out.recipient = id.Recipient().String()
	}
	return out, nil
}

// GenerateIdentity makes a new X25519 identity and returns it with the text
// of its identity file (for an agent's state directory, or age-keygen's).
func GenerateIdentity() (*Identity, []byte, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, nil, fmt.Errorf("generate an age identity: %w", err)
	}
	file := fmt.Sprintf("# public key: %s\n%s\n", id.Recipient(), id)
	return &Identity{ids: []age.Identity{id}, recipient: id.Recipient().String()}, []byte(file), nil
}

// ParseRecipients parses age recipients (age1..., age1pq1...), one per
// string; lines starting with # and empty ones are skipped, so a recipients
// file's lines can be passed as they are.
func ParseRecipients(list []string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		rs, err := age.ParseRecipients(strings.NewReader(s))
		if err != nil {
			return nil, fmt.Errorf("recipient %q: %w", s, err)
		}
		out = append(out, rs...)
	}
	if len(out) == 0 {
		return nil, errors.New("no age recipient given")
	}
	return out, nil
}

// encrypt armors the JSON of values encrypted to recipients.
func encrypt(values map[string]string, recipients []age.Recipient) (string, error) {
	plain, err := json.Marshal(values)
	if err != nil {
		return "", fmt.Errorf("encode the values: %w", err)
	}
	var b bytes.Buffer
	aw := armor.NewWriter(&b)
	w, err := age.Encrypt(aw, recipients...)
	if err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	if err := aw.Close(); err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	return b.String(), nil
}

// decrypt opens an armored ciphertext of a JSON object of strings.
func decrypt(armored string, id *Identity) (Values, error) {
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(strings.TrimSpace(armored)+"\n")), id.ids...)
	if err != nil {
		var none *age.NoIdentityMatchError
		if errors.As(err, &none) {
			return nil, fmt.Errorf("not encrypted to this identity (%s)", id.recipient)
		}
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxValuesBytes+1))
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	if len(plain) > MaxValuesBytes {
		return nil, fmt.Errorf("decrypted values are larger than %d bytes", MaxValuesBytes)
	}
	var v map[string]string
	if err := json.Unmarshal(plain, &v); err != nil {
		// The error of a JSON decoder may quote the plaintext: not shown.
		return nil, errors.New("decrypted data is not a JSON object of strings")
	}
	return v, nil
}

// NewSecret encrypts values to recipients as a Secret manifest with id.
func NewSecret(id string, recipients []string, values map[string]string) (manifests.Secret, error) {
	if len(values) == 0 {
		return manifests.Secret{}, errors.New("no values to encrypt")
	}
	rs, err := ParseRecipients(recipients)
	if err != nil {
		return manifests.Secret{}, err
	}
	data, err := encrypt(values, rs)
	if err != nil {
		return manifests.Secret{}, err
	}
	var clean []string
	for _, r := range recipients {
		if r = strings.TrimSpace(r); r != "" && !strings.HasPrefix(r, "#") {
			clean = append(clean, r)
		}
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return manifests.Secret{ID: id, Recipients: clean, Keys: keys, Data: data}, nil
}

// secretDoc is a Secret as written in a repository: kind first.
type secretDoc struct {
	Kind       string   `yaml:"kind"`
	ID         string   `yaml:"id"`
	Recipients []string `yaml:"recipients"`
	Keys       []string `yaml:"keys"`
	Data       string   `yaml:"data"`
}

// Manifest is s as a YAML manifest file.
func Manifest(s manifests.Secret) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(secretDoc{Kind: string(manifests.KindSecret), ID: s.ID, Recipients: s.Recipients, Keys: s.Keys, Data: s.Data}); err != nil {
		return nil, fmt.Errorf("write the Secret manifest: %w", err)
	}
	return b.Bytes(), nil
}

// Decrypt opens s with id and checks that its keys are the ones it lists.
func Decrypt(s manifests.Secret, id *Identity) (Values, error) {
	v, err := decrypt(s.Data, id)
	if err != nil {
		return nil, err
	}
	got := make([]string, 0, len(v))
	for k := range v {
		got = append(got, k)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(s.Keys))
	if !slices.Equal(got, want) {
		return nil, fmt.Errorf("the encrypted keys (%s) are not the keys listed (%s): re-encrypt with berth secret edit", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	return v, nil
}

// Keyring is the decrypted values of the Secrets one commit's apps
// reference: the leader keeps it in memory for the commit it applies, and
// uses it only to seal assignments.
type Keyring struct {
	values map[string]Values // Secret id -> key -> value
}

func (*Keyring) String() string       { return "[keyring]" }
func (*Keyring) LogValue() slog.Value { return slog.StringValue("[keyring]") }

// Open decrypts every Secret that an app of set references, with id (nil
// when the server has none). What cannot be opened is a manifests.Error at
// the Secret's place, so the commit is refused as a whole like any invalid
// one. Secrets no app references are not opened: a repository may hold
// Secrets for other clusters.
func Open(set *manifests.Set, id *Identity) (*Keyring, error) {
	used := map[string][]string{} // Secret id -> apps
	for _, a := range set.Apps {
		for _, src := range a.Secrets {
			sid, _ := manifests.ParseSecretSource(src.Source)
			if !slices.Contains(used[sid], a.ID) {
				used[sid] = append(used[sid], a.ID)
			}
		}
	}
	k := &Keyring{values: map[string]Values{}}
	var errs manifests.ErrorList
	for _, s := range set.Secrets {
		apps := used[s.ID]
		if len(apps) == 0 {
			continue
		}
		at := func(format string, args ...any) {
			errs = append(errs, &manifests.Error{File: s.Origin.File, Line: s.Origin.Line, Col: s.Origin.Col, Field: "data",
				Message: fmt.Sprintf("Secret %q (used by %s): ", s.ID, strings.Join(apps, ", ")) + fmt.Sprintf(format, args...)})
		}
		if id == nil {
			at("this server has no age identity to decrypt it: start the servers with --age-identity FILE (one of the Secret's recipients)")
			continue
		}
		v, err := Decrypt(s, id)
		if err != nil {
			at("cannot decrypt with the servers' identity: %v", err)
			continue
		}
		k.values[s.ID] = v
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return k, nil
}

// Seal encrypts the values a task's spec uses to an agent's recipient: the
// sealed text is what the assignment carries.
func (k *Keyring) Seal(spec cluster.TaskSpec, recipient string) (string, error) {
	if len(spec.Secrets) == 0 {
		return "", nil
	}
	if recipient == "" {
		return "", errors.New("the agent published no secret recipient (an agent older than Berth's secrets): it cannot run tasks with secrets")
	}
	rs, err := ParseRecipients([]string{recipient})
	if err != nil {
		return "", fmt.Errorf("the agent's secret recipient: %w", err)
	}
	values := map[string]string{}
	for _, s := range spec.Secrets {
		v, ok := k.values[s.Secret][s.Key]
		if !ok {
			return "", fmt.Errorf("secret %q: Secret %q key %q is not open on this server", s.Name, s.Secret, s.Key)
		}
		values[s.Name] = v
	}
	return encrypt(values, rs)
}

// Unseal opens a task's sealed values with the agent's identity and checks
// that every secret the spec uses is there.
func Unseal(spec cluster.TaskSpec, id *Identity) (Values, error) {
	if len(spec.Secrets) == 0 {
		return Values{}, nil
	}
	if spec.Sealed == "" {
		return nil, errors.New("the task uses secrets but its assignment carries none")
	}
	v, err := decrypt(spec.Sealed, id)
	if err != nil {
		return nil, fmt.Errorf("open the task's secrets: %w", err)
	}
	for _, s := range spec.Secrets {
		if _, ok := v[s.Name]; !ok {
			return nil, fmt.Errorf("open the task's secrets: secret %q is missing", s.Name)
		}
	}
	return v, nil
}
