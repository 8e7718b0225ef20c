package manifests

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Secret is a set of named values kept in the repository encrypted with age
// to its recipients (docs/manifests.md#secret), the way Flux keeps SOPS
// files: whoever reads the repository sees the names of the keys, never
// their values. Only a holder of one recipient's identity (the servers')
// can decrypt Data; loading a commit checks only its shape.
type Secret struct {
	ID string `json:"id" yaml:"id"`
	// Recipients are the age public keys Data is encrypted to (age1...).
	Recipients []string `json:"recipients" yaml:"recipients"`
	// Keys are the names of the values inside Data, in the clear so that a
	// reference to a key that does not exist is refused without a key.
	Keys []string `json:"keys" yaml:"keys"`
	// Data is the ASCII-armored age ciphertext of a JSON object mapping
	// each of Keys to its value.
	Data string `json:"data" yaml:"data"`

	Origin Origin `json:"-" yaml:"-"`
}

// SecretSource is the value of one entry of Marathon's app `secrets`:
// source names a Secret of the repository and, after `#`, one of its keys.
type SecretSource struct {
	Source string `json:"source" yaml:"source"`
}

// AgeArmorHeader begins every ASCII-armored age file.
const AgeArmorHeader = "-----BEGIN AGE ENCRYPTED FILE-----"

// Version names the content of a Secret without saying anything about its
// values: a hash of the ciphertext, which is public in the repository and
// changes with every encryption (age is randomised). A hash of the values
// themselves would let anyone test guesses of a short value against it.
func (s Secret) Version() string {
	sum := sha256.Sum256([]byte(s.Data))
	return hex.EncodeToString(sum[:6])
}

// ParseSecretSource splits a Marathon secret source, "ID" or "ID#KEY", and
// makes ID absolute (Marathon's sources "databasepassword" and "/pullconfig"
// name the Secrets /databasepassword and /pullconfig).
func ParseSecretSource(source string) (id, key string) {
	id, key, _ = strings.Cut(source, "#")
	if id == "" {
		return "", key
	}
	return resolveID(id, "/"), key
}

// SecretKey is the key a reference without one reads: the Secret's only
// key, or "value" among several. ok is false when neither is there.
func (s Secret) SecretKey(key string) (string, bool) {
	if key != "" {
		return key, slices.Contains(s.Keys, key)
	}
	if len(s.Keys) == 1 {
		return s.Keys[0], true
	}
	if slices.Contains(s.Keys, "value") {
		return "value", true
	}
	return "", false
}

func (l *loader) addSecret(d *decoder, n *yaml.Node) {
	s := new(Secret)
	d.decode(n, reflect.ValueOf(s).Elem(), "")
	s.Origin = Origin{File: d.file, Line: n.Line, Col: n.Column}
	l.secrets = append(l.secrets, &entry[Secret]{v: s, node: n, file: d.file})
}

// splitEnvSecrets takes Marathon's env entries of the form {"secret": NAME}
// out of an app's node: it returns a copy of n without them (n may be
// shared with a parse cache and is never changed) and the variables they
// name. Any other object as an env value is left for the decoder to refuse.
func (d *decoder) splitEnvSecrets(n *yaml.Node) (*yaml.Node, map[string]string) {
	env := mapValue(n, "env")
	if env == nil || env.Kind != yaml.MappingNode {
		return n, nil
	}
	var refs map[string]string
	kept := make([]*yaml.Node, 0, len(env.Content))
	for i := 0; i+1 < len(env.Content); i += 2 {
		k, v := env.Content[i], env.Content[i+1]
		if v.Kind == yaml.MappingNode && len(v.Content) == 2 && v.Content[0].Value == "secret" {
			name := v.Content[1]
			if name.Kind != yaml.ScalarNode || name.ShortTag() != "!!str" || name.Value == "" {
				d.errorf(name, "env."+k.Value+".secret", "expected the name of one of the app's secrets, found %s", kindName(name))
				continue
			}
			if refs == nil {
				refs = map[string]string{}
			}
			if _, dup := refs[k.Value]; dup {
				d.errorf(k, "env."+k.Value, "duplicate key")
				continue
			}
			refs[k.Value] = name.Value
			continue
		}
		kept = append(kept, k, v)
	}
	if refs == nil {
		return n, nil
	}
	envCopy := *env
	envCopy.Content = kept
	out := *n
	out.Content = make([]*yaml.Node, len(n.Content))
	for i := range n.Content {
		out.Content[i] = n.Content[i]
		if n.Content[i] == env {
			out.Content[i] = &envCopy
		}
	}
	return &out, refs
}

func normalizeSecret(s *Secret) {
	if s.ID != "" {
		s.ID = resolveOwnID(s.ID, "/")
	}
	for i, r := range s.Recipients {
		s.Recipients[i] = strings.TrimSpace(r)
	}
}

func validateSecret(s *Secret, r reporter) {
	switch {
	case s.ID == "":
		r.at(p("id"), "a Secret needs an id")
	case !validPathID(s.ID):
		r.at(p("id"), "%q is not a valid id: letters, digits, '-', '.' and '_' in '/'-separated parts", s.ID)
	}
	if len(s.Recipients) == 0 {
		r.at(p("recipients"), "a Secret needs at least one age recipient (age1...): the servers' public key")
	}
	for i, rc := range s.Recipients {
		if !ageRecipientShape(rc) {
			r.at(p("recipients", i), "not an age recipient (age1... or age1pq1...)")
		}
	}
	if len(s.Keys) == 0 {
		r.at(p("keys"), "a Secret needs the names of its keys (berth secret encrypt writes them)")
	}
	seen := map[string]bool{}
	for i, k := range s.Keys {
		if !validSecretKey(k) {
			r.at(p("keys", i), "%q is not a key name: letters, digits, '_', '-' and '.'", k)
		}
		if seen[k] {
			r.at(p("keys", i), "key %q is listed twice", k)
		}
		seen[k] = true
	}
	if !strings.HasPrefix(strings.TrimSpace(s.Data), AgeArmorHeader) {
		r.at(p("data"), "expected an ASCII-armored age ciphertext (%s): write Secrets with berth secret encrypt", AgeArmorHeader)
	}
}

// validPathID is the shape of a Secret id: "/"-separated parts of letters, digits, '-', '.' and '_', never "." or "..".
func validPathID(id string) bool {
	if !path.IsAbs(id) || id == "/" || path.Clean(id) != id {
		return false
	}
	for _, part := range strings.Split(id[1:], "/") {
		if part == "." || part == ".." {
			return false
		}
		for _, c := range part {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
				return false
			}
		}
	}
	return true
}

// ageRecipientShape is a syntax check only: a Bech32 string with age's
// prefix (package secrets parses it for real when it encrypts). manifests
// stays free of cryptography.
func ageRecipientShape(s string) bool {
	if !strings.HasPrefix(s, "age1") || len(s) < 50 || len(s) > 4096 {
		return false
	}
	for _, c := range s[4:] {
		if !strings.ContainsRune("1qpzry9x8gf2tvdw0s3jn54khce6mua7l", c) {
			return false
		}
	}
	return true
}

func validSecretKey(k string) bool {
	if k == "" || len(k) > 253 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// checkSecrets checks every secret reference of the apps against the
// Secrets of the set: a source must name a declared Secret and one of its
// keys, env and volume references must name a secret of the app.
func (l *loader) checkSecrets(s *Set) {
	byID := make(map[string]*Secret, len(s.Secrets))
	for i := range s.Secrets {
		byID[s.Secrets[i].ID] = &s.Secrets[i]
	}
	for _, a := range s.Apps {
		for _, name := range secretNames(a.Secrets) {
			src := a.Secrets[name].Source
			id, key := ParseSecretSource(src)
			if id == "" {
				l.refAt(a.Origin, p("secrets", name, "source"), "empty source: name a Secret of the repository (ID or ID#KEY)")
				continue
			}
			sec := byID[id]
			if sec == nil {
				l.refAt(a.Origin, p("secrets", name, "source"), "no Secret %q is declared in the repository (write one with berth secret encrypt)", id)
				continue
			}
			if _, ok := sec.SecretKey(key); !ok {
				if key == "" {
					l.refAt(a.Origin, p("secrets", name, "source"), "Secret %q (%s) has keys %s: name one, as %s#KEY", id, where(sec.Origin), strings.Join(sec.Keys, ", "), id)
				} else {
					l.refAt(a.Origin, p("secrets", name, "source"), "Secret %q (%s) has no key %q (its keys: %s)", id, where(sec.Origin), key, strings.Join(sec.Keys, ", "))
				}
			}
		}
		for _, v := range secretNames(a.EnvSecrets) {
			if _, ok := a.Secrets[a.EnvSecrets[v]]; !ok {
				l.refAt(a.Origin, p("env", v), "secret %q is not declared in the app's secrets", a.EnvSecrets[v])
			}
			if _, clash := a.Env[v]; clash {
				l.refAt(a.Origin, p("env", v), "declared twice: as a value and as a secret")
			}
		}
		if a.Container == nil {
			continue
		}
		for i, v := range a.Container.Volumes {
			if v.Secret == "" {
				continue
			}
			if _, ok := a.Secrets[v.Secret]; !ok {
				l.refAt(a.Origin, p("container", "volumes", i, "secret"), "secret %q is not declared in the app's secrets", v.Secret)
			}
			if !path.IsAbs(v.ContainerPath) || path.Clean(v.ContainerPath) == "/" || strings.Contains(v.ContainerPath, ":") {
				l.refAt(a.Origin, p("container", "volumes", i, "containerPath"), "a secret volume needs an absolute file path without ':', found %q", v.ContainerPath)
			}
			if v.HostPath != "" {
				l.refAt(a.Origin, p("container", "volumes", i, "hostPath"), "a secret volume has no hostPath: its file is made on the agent, in memory")
			}
		}
	}
	for _, j := range s.Jobs {
		if j.Container == nil {
			continue
		}
		for i, v := range j.Container.Volumes {
			if v.Secret != "" {
				l.refAt(j.Origin, p("container", "volumes", i, "secret"), "a job has no secrets (Chronos has none): secret volumes are for apps")
			}
		}
	}
}

func secretNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
