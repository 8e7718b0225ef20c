package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

func newIdentity(t *testing.T) *Identity {
	t.Helper()
	id, text, err := GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseIdentity(bytes.NewReader(text))
	if err != nil || again.Recipient() != id.Recipient() {
		t.Fatalf("identity file does not read back: %v", err)
	}
	return id
}

const value = "s3cr3t-'quoted' $HOME\nsecond line"

// loadSecret writes s as a manifest and loads it back with an app that
// uses it, as a server would see it in a commit.
func loadSecret(t *testing.T, s manifests.Secret, source string) *manifests.Set {
	t.Helper()
	text, err := Manifest(s)
	if err != nil {
		t.Fatal(err)
	}
	app := "\n---\nkind: App\nid: /app\ncmd: x\nsecrets:\n  pw: {source: " + source + "}\nenv:\n  PW: {secret: pw}\n"
	set, err := manifests.LoadBytes("s.yaml", append(text, app...))
	if err != nil {
		t.Fatalf("load:\n%s\n%v", text, err)
	}
	return set
}

func TestEncryptOpenSealUnseal(t *testing.T) {
	server, operator, agent := newIdentity(t), newIdentity(t), newIdentity(t)
	s, err := NewSecret("db", []string{server.Recipient(), "# a comment", operator.Recipient()}, map[string]string{"password": value, "user": "app"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.Data, "s3cr3t") || strings.Join(s.Keys, ",") != "password,user" || len(s.Recipients) != 2 {
		t.Fatalf("secret: %+v", s)
	}
	set := loadSecret(t, s, "db#password")
	keys, err := Open(set, server)
	if err != nil {
		t.Fatal(err)
	}
	spec := cluster.TaskSpec{Secrets: []cluster.SecretSpec{{Name: "pw", Secret: "/db", Key: "password", Env: "PW"}}}
	sealed, err := keys.Seal(spec, agent.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "s3cr3t") || !strings.HasPrefix(sealed, manifests.AgeArmorHeader) {
		t.Fatalf("sealed: %s", sealed)
	}
	spec.Sealed = sealed
	if _, err := Unseal(spec, server); err == nil {
		t.Fatal("the server's identity opened what was sealed to the agent")
	}
	got, err := Unseal(spec, agent)
	if err != nil {
		t.Fatal(err)
	}
	if got["pw"] != value {
		t.Fatalf("unsealed a different value")
	}
	// The operator's identity opens the Secret too (berth secret edit).
	if _, err := Decrypt(set.Secrets[0], operator); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusals(t *testing.T) {
	server, other := newIdentity(t), newIdentity(t)
	s, err := NewSecret("db", []string{other.Recipient()}, map[string]string{"password": value})
	if err != nil {
		t.Fatal(err)
	}
	set := loadSecret(t, s, "db")
	var list manifests.ErrorList
	_, err = Open(set, nil)
	if !errors.As(err, &list) || !strings.Contains(err.Error(), `s.yaml:1:1: data: Secret "/db" (used by /app): this server has no age identity to decrypt it: start the servers with --age-identity FILE`) {
		t.Errorf("without an identity: %v", err)
	}
	_, err = Open(set, server)
	if !errors.As(err, &list) || !strings.Contains(err.Error(), `s.yaml:1:1: data: Secret "/db" (used by /app): cannot decrypt with the servers' identity: not encrypted to this identity (`+server.Recipient()+`)`) {
		t.Errorf("with another identity: %v", err)
	}
	// Keys listed that the ciphertext does not hold: refused.
	s.Keys = []string{"password", "user"}
	set = loadSecret(t, s, "db#user")
	if _, err := Open(set, other); err == nil || !strings.Contains(err.Error(), "the encrypted keys (password) are not the keys listed (password, user)") {
		t.Errorf("keys mismatch: %v", err)
	}
	// A Secret no app uses is not opened.
	set.Apps = nil
	if _, err := Open(set, server); err != nil {
		t.Errorf("an unused Secret was opened: %v", err)
	}
	for _, e := range []error{err} {
		if e != nil && strings.Contains(e.Error(), "s3cr3t") {
			t.Errorf("an error quotes the value: %v", e)
		}
	}
}

func TestValuesNeverPrint(t *testing.T) {
	v := Values{"pw": value}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("opened", "values", v, "keyring", &Keyring{values: map[string]Values{"/db": v}})
	for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s", v, v, v, v), logs.String()} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("a value printed: %s", s)
		}
	}
}

func TestEditRoundTrip(t *testing.T) {
	me := newIdentity(t)
	s, err := NewSecret("/db", []string{me.Recipient()}, map[string]string{"password": value})
	if err != nil {
		t.Fatal(err)
	}
	// No change: the very same Secret, so its version (and the tasks) stay.
	out, changed, err := Edit(s, me, nil, func(text []byte) ([]byte, error) { return text, nil })
	if err != nil || changed || out.Version() != s.Version() {
		t.Fatalf("unchanged edit: changed %v, err %v", changed, err)
	}
	// A new key and a new value.
	out, changed, err = Edit(s, me, nil, func(text []byte) ([]byte, error) {
		vals, err := ParseValues(text)
		if err != nil {
			return nil, err
		}
		if vals["password"] != value {
			return nil, errors.New("the editor was not shown the value as it is")
		}
		return append(text, "user: app\n"...), nil
	})
	if err != nil || !changed || out.Version() == s.Version() {
		t.Fatalf("edit: changed %v, err %v", changed, err)
	}
	text, err := Manifest(out)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadSecretFile("db.yaml", text)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt(back, me)
	if err != nil || got["password"] != value || got["user"] != "app" || len(got) != 2 {
		t.Fatalf("round trip: %v (keys %v)", err, back.Keys)
	}
	// An edit that is not a mapping is refused without quoting it.
	_, _, err = Edit(s, me, nil, func([]byte) ([]byte, error) { return []byte("- s3cr3t\n"), nil })
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("bad edit: %v", err)
	}
}

// FuzzParseValues: any text is values that survive FormatValues, or an
// error; never a panic.
func FuzzParseValues(f *testing.F) {
	f.Add("password: s3cr3t\nuser: app\n")
	f.Add("{\"a\": \"b\"}")
	f.Add("a: [s3cr3t]\n")
	f.Add("a: &x s3cr3t\nb: *x\n")
	f.Fuzz(func(t *testing.T, text string) {
		v, err := ParseValues([]byte(text))
		if err != nil {
			return
		}
		out, err := FormatValues(v)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseValues(out)
		if err != nil || !equalValues(v, again) {
			t.Fatalf("values do not survive FormatValues: %v", err)
		}
	})
}
