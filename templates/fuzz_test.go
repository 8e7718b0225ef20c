package templates

import (
	"testing"
	"time"
)

// FuzzParseAndExecute feeds arbitrary template text through parsing and
// two-pass execution against the corpus data: whatever the input, the
// result is output or an error, never a panic or a hang.
func FuzzParseAndExecute(f *testing.F) {
	for _, seed := range []string{
		`{{ range service "web" }}{{ .Address }}:{{ .Port }}{{ end }}`,
		`{{ key "a/b" | parseJSON | toYAML }}`,
		`{{ range tree "config" | byKey }}{{ . }}{{ end }}`,
		`{{ loop 3 }}{{ add 1 "x" }}`,
		`{{ 10 | divide 0 }}{{ 10 | modulo 0 }}`,
		`{{ with node }}{{ .Node.Address }}{{ end }}`,
		`{{ scratch.MapSet "a" "b" 1 }}{{ scratch.MapValues "a" }}`,
		`{{ service "a.b@dc~n|passing,bogus" }}`,
		`{{ indent -1 "x" }}{{ timestamp "unix" }}{{ secret "x" }}`,
		`{{ define "x" }}{{ executeTemplate "x" }}{{ end }}{{ executeTemplate "x" }}`,
	} {
		f.Add(seed)
	}
	data := &CatalogData{
		LocalNode: "n1",
		Nodes:     []CatalogNodeInfo{{Name: "n1", Address: "127.0.0.2"}},
		Instances: []Instance{{ID: "w1", Name: "web", Node: "n1", NodeAddress: "127.0.0.2", Port: 1, Tags: []string{"a"}}},
		KV:        map[string]string{"a/b": `{"x": [1, "y"]}`, "config/c": "1"},
	}
	f.Fuzz(func(t *testing.T, text string) {
		tmpl, err := Parse("fuzz", text, Options{})
		if err != nil {
			return
		}
		snap := Snapshot{}
		for pass := 0; pass < 4; pass++ {
			done := make(chan struct{})
			var res *Result
			go func() {
				defer close(done)
				res, err = tmpl.Execute(ExecInput{Data: snap, Now: time.Unix(0, 0)})
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("execution did not finish: %q", text)
			}
			if err != nil || res.Complete() {
				return
			}
			for _, q := range res.Missing {
				snap.Set(q, Answer(data, q))
			}
		}
	})
}

// FuzzParseQueries checks the query parsers accept or reject any string
// without panicking, and that accepted queries have a stable canonical form.
func FuzzParseQueries(f *testing.F) {
	for _, s := range []string{"web", "tag.web@dc1~node|passing,warning", "a/b@dc", "@dc", "n1@dc", "", "|", "~x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (Query, error){ParseServiceQuery, ParseServicesQuery, ParseKeyQuery, ParseKeyListQuery, ParseNodeQuery, ParseNodesQuery} {
			q, err := parse(s)
			if err != nil {
				continue
			}
			if q.String() == "" {
				t.Fatalf("empty canonical form for %q", s)
			}
		}
	})
}
