package manifests

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const testRecipient = "age1jef85r2lhe38n6d8g5ncj72w2mhrh3jqelxw25c8glvqthzcudcqrjrltv"

// testSecret is a Secret manifest with a ciphertext-shaped data field:
// loading checks the shape only, never decrypts.
func testSecret(id string, keys ...string) string {
	return "kind: Secret\nid: " + id + "\nrecipients:\n  - " + testRecipient + "\nkeys: [" + strings.Join(keys, ", ") + "]\n" +
		"data: |\n  " + AgeArmorHeader + "\n  YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOQ==\n  -----END AGE ENCRYPTED FILE-----\n"
}

// marathonSecretsApp is Marathon's documented secrets example, with a secret
// volume added.
const marathonSecretsApp = `{
  "id": "app-with-secrets",
  "cmd": "sleep 100",
  "env": {
    "DATABASE_PW": {
      "secret": "secretpassword"
    },
    "PLAIN": "x"
  },
  "container": {
    "type": "DOCKER",
    "docker": {"image": "busybox"},
    "volumes": [{"containerPath": "/etc/db/password", "secret": "secretpassword"}]
  },
  "secrets": {
    "secretpassword": {
      "source": "databasepassword"
    }
  }
}
`

func loadFS(t *testing.T, files map[string]string) (*Set, ErrorList) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	set, err := Load(fsys)
	if err == nil {
		return set, nil
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("load: %v", err)
	}
	return nil, list
}

func TestSecretReferencesLoad(t *testing.T) {
	set, errs := loadFS(t, map[string]string{
		"secrets/db.yaml": testSecret("databasepassword", "password"),
		"apps/app.json":   marathonSecretsApp,
	})
	if errs != nil {
		t.Fatalf("load: %v", errs)
	}
	if len(set.Secrets) != 1 || set.Secrets[0].ID != "/databasepassword" || set.Secrets[0].Origin.File != "secrets/db.yaml" {
		t.Fatalf("secrets: %+v", set.Secrets)
	}
	a := set.Apps[0]
	if diff := cmp.Diff(map[string]string{"DATABASE_PW": "secretpassword"}, a.EnvSecrets); diff != "" {
		t.Errorf("env secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"PLAIN": "x"}, a.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if v := a.Container.Volumes[0]; v.Secret != "secretpassword" || v.HostPath != "" {
		t.Errorf("volume: %+v", v)
	}
	if got := set.Secrets[0].Version(); len(got) != 12 {
		t.Errorf("version %q", got)
	}
}

func TestSecretErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"missing Secret (Marathon's example alone)", map[string]string{"app.json": marathonSecretsApp},
			[]string{`app.json:17:17: secrets.secretpassword.source: no Secret "/databasepassword" is declared in the repository`}},
		{"missing key", map[string]string{"s.yaml": testSecret("db", "user", "password"),
			"a.yaml": "kind: App\nid: /a\ncmd: x\nsecrets:\n  pw: {source: db#pass}\nenv:\n  PW: {secret: pw}\n"},
			[]string{`a.yaml:5:16: secrets.pw.source: Secret "/db" (s.yaml:1:1) has no key "pass" (its keys: user, password)`}},
		{"several keys, none named", map[string]string{"s.yaml": testSecret("db", "user", "password"),
			"a.yaml": "kind: App\nid: /a\ncmd: x\nsecrets:\n  pw: {source: /db}\n"},
			[]string{`a.yaml:5:16: secrets.pw.source: Secret "/db" (s.yaml:1:1) has keys user, password: name one, as /db#KEY`}},
		{"env names an undeclared secret", map[string]string{"s.yaml": testSecret("db", "password"),
			"a.yaml": "kind: App\nid: /a\ncmd: x\nsecrets:\n  pw: {source: db}\nenv:\n  PW: {secret: other}\n"},
			[]string{`a.yaml:7:7: env.PW: secret "other" is not declared in the app's secrets`}},
		{"secret volume with a hostPath", map[string]string{"s.yaml": testSecret("db", "password"),
			"a.yaml": "kind: App\nid: /a\ncmd: x\nsecrets:\n  pw: {source: db}\ncontainer:\n  type: DOCKER\n  docker: {image: x}\n  volumes:\n    - {containerPath: /x, hostPath: /etc, secret: pw}\n"},
			[]string{`a.yaml:10:37: container.volumes[0].hostPath: a secret volume has no hostPath`}},
		{"a job's secret volume", map[string]string{"s.yaml": testSecret("db", "password"),
			"j.yaml": "kind: Job\nname: j\ncommand: x\nschedule: R/2030-01-01T00:00:00Z/PT1H\ncontainer:\n  type: DOCKER\n  image: x\n  volumes:\n    - {containerPath: /x, secret: pw}\n"},
			[]string{`j.yaml:9:35: container.volumes[0].secret: a job has no secrets`}},
		{"malformed Secret", map[string]string{"s.yaml": "kind: Secret\nid: ../x\nrecipients: [AGE-SECRET-KEY-1XYZ]\nkeys: [a, a, 'b c']\ndata: plain text\n"},
			[]string{`s.yaml:2:5: id:`, `s.yaml:3:14: recipients[0]: not an age recipient`, `s.yaml:4:11: keys[1]: key "a" is listed twice`,
				`s.yaml:4:14: keys[2]: "b c" is not a key name`, `s.yaml:5:7: data: expected an ASCII-armored age ciphertext`}},
		{"duplicate Secret", map[string]string{"a.yaml": testSecret("db", "password"), "b.yaml": testSecret("/db", "password")},
			[]string{`b.yaml:2:5: id: Secret "/db" is also declared at a.yaml:1:1`}},
		{"unknown Secret field", map[string]string{"s.yaml": testSecret("db", "password") + "value: hunter2\n"},
			[]string{`s.yaml:10:1: value: unknown field`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := loadFS(t, tc.files)
			got := errs.Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors do not contain %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestSecretNeverDecodedAsValue: an env object that is not a secret
// reference is refused, saying what the reference looks like.
func TestEnvObjectRefused(t *testing.T) {
	_, errs := loadFS(t, map[string]string{"a.yaml": "kind: App\nid: /a\ncmd: x\nenv:\n  PW: {value: x}\n"})
	if got := errs.Error(); !strings.Contains(got, "a.yaml:5:7: env.PW: expected a string, found an object (a secret reference is {secret: NAME}") {
		t.Errorf("got %s", got)
	}
}

// FuzzSecretManifest loads arbitrary text as a Secret next to an app that
// uses it: any error, never a panic, and a loaded Secret is well-formed.
func FuzzSecretManifest(f *testing.F) {
	f.Add(testSecret("db", "password"))
	f.Add(testSecret("db", "user", "password"))
	f.Add("kind: Secret\nid: /x\nrecipients: []\nkeys: []\ndata: ''\n")
	f.Add("kind: Secret\nid: &a /x\nrecipients: [*a]\nkeys: [*a]\ndata: *a\n")
	f.Add(`{"kind": "Secret", "id": "db", "recipients": ["` + testRecipient + `"], "keys": ["password"], "data": "-----BEGIN AGE ENCRYPTED FILE-----"}`)
	f.Fuzz(func(t *testing.T, text string) {
		set, errs := loadFS(t, map[string]string{"s.yaml": text,
			"a.yaml": "kind: App\nid: /a\ncmd: x\nsecrets:\n  pw: {source: db#password}\nenv:\n  PW: {secret: pw}\n"})
		if errs != nil {
			for _, e := range errs {
				if e.File == "" {
					t.Fatalf("error without a file: %v", e)
				}
			}
			return
		}
		for _, s := range set.Secrets {
			if !validPathID(s.ID) || len(s.Recipients) == 0 || len(s.Keys) == 0 || !strings.HasPrefix(strings.TrimSpace(s.Data), AgeArmorHeader) {
				t.Fatalf("loaded a malformed Secret: %+v", s)
			}
		}
	})
}
