package templates

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthops/berth/manifests"
)

const upstreamTmpl = `upstream web {
{{- range service "web" }}
  server {{ .Address }}:{{ .Port }};
{{- end }}
}
`

func webInstance(id string, port int) Instance {
	return Instance{ID: id, Name: "web", Node: "node-a", NodeAddress: "127.0.0.2", Port: port}
}

// startRunner runs r until the test ends.
func startRunner(t *testing.T, r *Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// eventually waits for cond, failing the test with what after 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fileIs(path, want string) func() bool {
	return func() bool {
		b, err := os.ReadFile(path)
		return err == nil && string(b) == want
	}
}

func statusOf(r *Runner, id string) Status {
	for _, s := range r.Status() {
		if s.ID == id {
			return s
		}
	}
	return Status{}
}

func TestRunnerRendersAndRerendersOnlyOnChange(t *testing.T) {
	dir := t.TempDir()
	cat := &MemoryCatalog{}
	cat.Register(webInstance("web-1", 31001))
	dest := filepath.Join(dir, "upstream.conf")
	marker := filepath.Join(dir, "reloads")
	r, err := NewRunner([]manifests.Template{{
		ID: "web", Contents: upstreamTmpl, Destination: dest, Perms: "0600",
		Command: "echo x >> " + marker,
	}}, RunnerOptions{Source: CatalogSource{Catalog: cat}})
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	eventually(t, "first render", fileIs(dest, "upstream web {\n  server 127.0.0.2:31001;\n}\n"))
	st, _ := os.Stat(dest)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("perms = %v, want 0600", st.Mode().Perm())
	}
	eventually(t, "first reload", fileIs(marker, "x\n"))

	// A change that does not alter the output writes nothing and reloads nothing.
	cat.PutKey("unrelated", "1")
	cat.Register(Instance{ID: "db-1", Name: "db", Node: "node-a", NodeAddress: "127.0.0.2", Port: 5432})
	cat.Register(webInstance("web-2", 31002))
	eventually(t, "scale up", fileIs(dest, "upstream web {\n  server 127.0.0.2:31001;\n  server 127.0.0.2:31002;\n}\n"))
	eventually(t, "second reload", fileIs(marker, "x\nx\n"))
	eventually(t, "status published", func() bool { return statusOf(r, "web").Writes >= 2 })
	if s := statusOf(r, "web"); s.Writes != 2 || s.Err != "" {
		t.Errorf("status = %+v, want 2 writes and no error", s)
	}
	// A true scale to zero renders.
	cat.Deregister("web-1")
	cat.Deregister("web-2")
	eventually(t, "scale to zero", fileIs(dest, "upstream web {\n}\n"))
}

func TestRunnerValidateFailureRestoresPrevious(t *testing.T) {
	dir := t.TempDir()
	cat := &MemoryCatalog{}
	cat.Register(webInstance("web-1", 31001))
	dest := filepath.Join(dir, "upstream.conf")
	marker := filepath.Join(dir, "reloads")
	// The validator rejects any file that mentions port 66666.
	r, err := NewRunner([]manifests.Template{{
		ID: "web", Contents: upstreamTmpl, Destination: dest, Backup: true,
		Validate: "! grep -q 66666 " + dest,
		Command:  "echo x >> " + marker,
	}}, RunnerOptions{Source: CatalogSource{Catalog: cat}})
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	good := "upstream web {\n  server 127.0.0.2:31001;\n}\n"
	eventually(t, "first render", fileIs(dest, good))
	eventually(t, "first reload", fileIs(marker, "x\n"))

	cat.Register(webInstance("web-bad", 66666))
	eventually(t, "validation failure in status", func() bool {
		return strings.Contains(statusOf(r, "web").Err, "validate failed, previous file restored")
	})
	if b, _ := os.ReadFile(dest); string(b) != good {
		t.Errorf("after failed validation the file is %q, want the previous %q", b, good)
	}
	if b, _ := os.ReadFile(marker); string(b) != "x\n" {
		t.Errorf("command ran after failed validation: %q", b)
	}
	// Fixing the data renders again and clears the error; the backup holds
	// the file that was replaced.
	cat.Deregister("web-bad")
	cat.Register(webInstance("web-2", 31002))
	eventually(t, "recovery", fileIs(dest, "upstream web {\n  server 127.0.0.2:31001;\n  server 127.0.0.2:31002;\n}\n"))
	eventually(t, "error cleared", func() bool { return statusOf(r, "web").Err == "" })
	if b, _ := os.ReadFile(dest + ".bak"); string(b) != good {
		t.Errorf("backup = %q, want %q", b, good)
	}
}

func TestRunnerOnlyAffectedTemplatesRerender(t *testing.T) {
	dir := t.TempDir()
	cat := &MemoryCatalog{}
	cat.Register(webInstance("web-1", 31001))
	cat.Register(Instance{ID: "api-1", Name: "api", Node: "node-a", NodeAddress: "127.0.0.2", Port: 32001})
	web := filepath.Join(dir, "web.conf")
	api := filepath.Join(dir, "api.conf")
	r, err := NewRunner([]manifests.Template{
		{ID: "web", Contents: `{{ range service "web" }}{{ .Port }} {{ end }}`, Destination: web},
		{ID: "api", Contents: `{{ range service "api" }}{{ .Port }} {{ end }}`, Destination: api},
	}, RunnerOptions{Source: CatalogSource{Catalog: cat}})
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	eventually(t, "both rendered", func() bool { return fileIs(web, "31001 ")() && fileIs(api, "32001 ")() })
	eventually(t, "both statuses published", func() bool { return statusOf(r, "web").Rendered && statusOf(r, "api").Rendered })
	apiRender := statusOf(r, "api").LastRender
	cat.Register(webInstance("web-2", 31002))
	eventually(t, "web re-rendered", fileIs(web, "31001 31002 "))
	if got := statusOf(r, "api").LastRender; !got.Equal(apiRender) {
		t.Errorf("api re-rendered (at %v, before %v) though only web's data changed", got, apiRender)
	}
}

func TestRunnerWaitCoalescesBursts(t *testing.T) {
	dir := t.TempDir()
	cat := &MemoryCatalog{}
	cat.Register(webInstance("web-0", 31000))
	dest := filepath.Join(dir, "upstream.conf")
	r, err := NewRunner([]manifests.Template{{
		ID: "web", Contents: `{{ range service "web" }}{{ .Port }} {{ end }}`, Destination: dest,
		Wait: &manifests.Wait{Min: "300ms", Max: "5s"},
	}}, RunnerOptions{Source: CatalogSource{Catalog: cat}})
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	eventually(t, "first render (not delayed by wait)", fileIs(dest, "31000 "))
	for i := 1; i <= 5; i++ {
		cat.Register(webInstance("web-"+string(rune('0'+i)), 31000+i))
	}
	eventually(t, "burst rendered", fileIs(dest, "31000 31001 31002 31003 31004 31005 "))
	eventually(t, "status published", func() bool { return statusOf(r, "web").Writes >= 2 })
	if w := statusOf(r, "web").Writes; w != 2 {
		t.Errorf("writes = %d, want 2 (the first render and one for the whole burst)", w)
	}
}

// flakySource fails while down is set, as Consul does when unreachable.
type flakySource struct {
	Source
	down atomic.Bool
}

func (f *flakySource) Fetch(ctx context.Context, q Query, idx uint64) (any, uint64, error) {
	if f.down.Load() {
		return nil, idx, errors.New("connection refused")
	}
	v, next, err := f.Source.Fetch(ctx, q, idx)
	if f.down.Load() {
		// A blocking query in flight when the source went down fails too.
		return nil, idx, errors.New("connection refused")
	}
	return v, next, err
}

func TestRunnerKeepsLastGoodFileWhenSourceFails(t *testing.T) {
	dir := t.TempDir()
	cat := &MemoryCatalog{}
	cat.Register(webInstance("web-1", 31001))
	src := &flakySource{Source: CatalogSource{Catalog: cat}}
	dest := filepath.Join(dir, "upstream.conf")
	r, err := NewRunner([]manifests.Template{{ID: "web", Contents: upstreamTmpl, Destination: dest}},
		RunnerOptions{Source: src, RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond, RecoveryHold: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	good := "upstream web {\n  server 127.0.0.2:31001;\n}\n"
	eventually(t, "first render", fileIs(dest, good))

	// The source goes down and, while it is down, loses its instances (a
	// restarted Consul before agents re-register).
	src.down.Store(true)
	cat.Deregister("web-1")
	eventually(t, "source error in status", func() bool {
		return strings.Contains(statusOf(r, "web").SourceErr, "connection refused")
	})
	src.down.Store(false)
	eventually(t, "hold in status", func() bool {
		return strings.Contains(statusOf(r, "web").SourceErr, "holding the last good data")
	})
	if b, _ := os.ReadFile(dest); string(b) != good {
		t.Fatalf("file changed while the source was failing or just recovered: %q", b)
	}
	// The instance comes back within the hold: nothing was ever emptied.
	cat.Register(webInstance("web-1", 31001))
	eventually(t, "status clear", func() bool { return statusOf(r, "web").SourceErr == "" })
	time.Sleep(50 * time.Millisecond) // let any (wrong) write land before checking
	if b, _ := os.ReadFile(dest); string(b) != good {
		t.Fatalf("file = %q, want %q", b, good)
	}
	if w := statusOf(r, "web").Writes; w != 1 {
		t.Errorf("writes = %d, want 1", w)
	}
}

// TestRunnerHoldEndsOnceTheAnswerRecovers: Consul restarts empty while a
// rollout replaces the only instance; its agent re-registers the new one a
// moment later. The hold that protects the file from the empty answer ends
// as soon as the answer lists as many instances as before, so the upstream
// follows the rollout at once instead of keeping the replaced instance for
// the whole hold (an hour here: without the early end the file never
// changes).
func TestRunnerHoldEndsOnceTheAnswerRecovers(t *testing.T) {
	dir := t.TempDir()
	cat := &MemoryCatalog{}
	cat.Register(webInstance("web-1", 31001))
	src := &flakySource{Source: CatalogSource{Catalog: cat}}
	dest := filepath.Join(dir, "upstream.conf")
	r, err := NewRunner([]manifests.Template{{ID: "web", Contents: upstreamTmpl, Destination: dest}},
		RunnerOptions{Source: src, RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond, RecoveryHold: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	eventually(t, "first render", fileIs(dest, "upstream web {\n  server 127.0.0.2:31001;\n}\n"))

	src.down.Store(true)
	cat.Deregister("web-1")
	eventually(t, "source error in status", func() bool {
		return strings.Contains(statusOf(r, "web").SourceErr, "connection refused")
	})
	src.down.Store(false)
	eventually(t, "hold in status", func() bool {
		return strings.Contains(statusOf(r, "web").SourceErr, "holding the last good data")
	})
	if b, _ := os.ReadFile(dest); !strings.Contains(string(b), "31001") {
		t.Fatalf("file changed while the answer was held: %q", b)
	}
	cat.Register(webInstance("web-2", 31002))
	eventually(t, "the replacement rendered", fileIs(dest, "upstream web {\n  server 127.0.0.2:31002;\n}\n"))
	// The file is written before the status is published.
	eventually(t, "status clear", func() bool { return statusOf(r, "web").SourceErr == "" })
}

func TestRunOnceDryAndMissingKey(t *testing.T) {
	cat := &MemoryCatalog{}
	cat.Register(webInstance("web-1", 31001))
	var out bytes.Buffer
	r, err := NewRunner([]manifests.Template{
		{ID: "a", Contents: upstreamTmpl, Destination: "/nonexistent/a.conf"},
		{ID: "b", Contents: `name={{ key "app/name" }}`, Destination: "/nonexistent/b.conf"},
	}, RunnerOptions{Source: CatalogSource{Catalog: cat}, Dry: &out})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.WaitGroup
	once.Add(1)
	var runErr error
	go func() { defer once.Done(); runErr = r.RunOnce(context.Background()) }()
	// `key` waits for its key: the run cannot finish before it exists.
	eventually(t, "a rendered and b waiting for its key", func() bool {
		s := statusOf(r, "b")
		return statusOf(r, "a").Rendered && len(s.Waiting) == 1 && s.Waiting[0] == "kv.get(app/name)"
	})
	cat.PutKey("app/name", "berth")
	once.Wait()
	if runErr != nil {
		t.Fatal(runErr)
	}
	want := "> /nonexistent/a.conf\nupstream web {\n  server 127.0.0.2:31001;\n}\n> /nonexistent/b.conf\nname=berth"
	if out.String() != want {
		t.Errorf("dry output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestNewRunnerErrorsNameFileLineField(t *testing.T) {
	_, err := NewRunner([]manifests.Template{
		{ID: "bad", Contents: "ok\n{{ secret \"x\" }}", Destination: "/tmp/x", Origin: manifests.Origin{File: "templates/web.yaml", Line: 3}},
		{ID: "perm", Contents: "x", Destination: "/tmp/y", Perms: "rw", Origin: manifests.Origin{File: "templates/web.yaml", Line: 9}},
		{ID: "wait", Contents: "x", Destination: "/tmp/z", Wait: &manifests.Wait{Min: "soon"}, Origin: manifests.Origin{File: "t.yaml", Line: 1}},
		{ID: "nodest", Contents: "x", Origin: manifests.Origin{File: "t.yaml", Line: 4}},
	}, RunnerOptions{Source: CatalogSource{Catalog: &MemoryCatalog{}}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`templates/web.yaml:3: template bad: field contents: templates/web.yaml:3 (template bad contents):2: function "secret": consul-template's Vault function is not supported by Berth`,
		`templates/web.yaml:9: template perm: field perms: "rw" is not an octal file mode`,
		`t.yaml:1: template wait: field wait: min "soon" is not a duration`,
		`t.yaml:4: template nodest: field destination: required`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if !errors.Is(err, ErrUnsupportedFunc) {
		t.Error("errors.Is(err, ErrUnsupportedFunc) is false")
	}
}

// countingSource records how many fetches of each query are in flight at
// once.
type countingSource struct {
	Source
	mu       sync.Mutex
	inflight map[string]int
	peak     map[string]int
}

func (c *countingSource) Fetch(ctx context.Context, q Query, idx uint64) (any, uint64, error) {
	k := q.String()
	c.mu.Lock()
	c.inflight[k]++
	c.peak[k] = max(c.peak[k], c.inflight[k])
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inflight[k]--
		c.mu.Unlock()
	}()
	return c.Source.Fetch(ctx, q, idx)
}

func TestRunnerSharesOneWatchPerQuery(t *testing.T) {
	dir := t.TempDir()
	cat := &MemoryCatalog{}
	cat.Register(webInstance("web-1", 31001))
	cat.PutKey("app/name", "berth")
	src := &countingSource{Source: CatalogSource{Catalog: cat}, inflight: map[string]int{}, peak: map[string]int{}}
	var specs []manifests.Template
	for i := 0; i < 5; i++ {
		specs = append(specs, manifests.Template{
			ID:          "t" + string(rune('0'+i)),
			Contents:    `{{ key "app/name" }}{{ range service "web" }} {{ .Port }}{{ end }}` + strings.Repeat(" ", i),
			Destination: filepath.Join(dir, "t"+string(rune('0'+i))),
		})
	}
	r, err := NewRunner(specs, RunnerOptions{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	eventually(t, "all rendered", func() bool { return fileIs(filepath.Join(dir, "t4"), "berth 31001    ")() })
	cat.Register(webInstance("web-2", 31002))
	eventually(t, "all re-rendered", func() bool { return fileIs(filepath.Join(dir, "t4"), "berth 31001 31002    ")() })
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.peak) != 2 {
		t.Errorf("queries fetched: %v, want exactly kv.get(app/name) and health.service(web|passing)", src.peak)
	}
	for k, n := range src.peak {
		if n != 1 {
			t.Errorf("%s had %d fetches in flight at once, want 1 shared watch for 5 templates", k, n)
		}
	}
}

func TestShrank(t *testing.T) {
	two := []*HealthService{{ID: "a"}, {ID: "b"}}
	for _, tc := range []struct {
		prev, next any
		want       bool
	}{
		{two, []*HealthService{}, true},
		{two, two[:1], true},
		{two, two, false},
		{[]*HealthService{}, two, false},
		{[]*CatalogSnippet{{Name: "web"}, {Name: "api"}}, []*CatalogSnippet{{Name: "consul"}}, true},
		{[]*Node{{Node: "a"}}, []*Node{}, true},
		{[]*KeyPair{{Key: "a"}}, []*KeyPair{}, false},
		{"value", nil, false},
	} {
		if got := shrank(tc.prev, tc.next); got != tc.want {
			t.Errorf("shrank(%v, %v) = %v, want %v", tc.prev, tc.next, got, tc.want)
		}
	}
}

// A template that fails only because its data has not arrived yet (a field
// of a JSON key not fetched) renders once the data is there.
func TestRunOnceRecoversFromErrorsOnMissingData(t *testing.T) {
	cat := &MemoryCatalog{}
	cat.PutKey("app/config", `{"upstream": {"port": 8080}}`)
	dest := filepath.Join(t.TempDir(), "out")
	r, err := NewRunner([]manifests.Template{{
		ID: "json", Contents: `port {{ (key "app/config" | parseJSON).upstream.port }}`, Destination: dest,
	}}, RunnerOptions{Source: CatalogSource{Catalog: cat}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "port 8080" {
		t.Errorf("rendered %q", b)
	}
	if s := statusOf(r, "json"); s.Err != "" {
		t.Errorf("status error after success: %q", s.Err)
	}
}

func TestRunnerCommandTimeoutAndKeptPerms(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	if err := os.WriteFile(dest, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dest, 0o640)
	cat := &MemoryCatalog{}
	cat.Register(webInstance("web-1", 31001))
	r, err := NewRunner([]manifests.Template{{
		ID: "slow", Contents: `{{ range service "web" }}{{ .Port }}{{ end }}`, Destination: dest, Command: "sleep 30",
	}}, RunnerOptions{Source: CatalogSource{Catalog: cat}, CommandTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err = r.RunOnce(ctx)
	if err == nil || !strings.Contains(err.Error(), "did not finish within 200ms") {
		t.Fatalf("RunOnce = %v, want the command timeout", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the timed-out command was not killed (RunOnce took %v)", time.Since(start))
	}
	if s := statusOf(r, "slow"); !strings.Contains(s.Err, "command failed") {
		t.Errorf("status = %+v", s)
	}
	st, err := os.Stat(dest)
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode after rewrite = %v (%v), want the old file's 0640", st.Mode().Perm(), err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "31001" {
		t.Errorf("file = %q", b)
	}
}

func TestRunnerUpdateKeepsUnchangedTemplates(t *testing.T) {
	dir := t.TempDir()
	cat := &MemoryCatalog{}
	cat.Register(webInstance("web-1", 31001))
	a := manifests.Template{ID: "a", Contents: `{{ range service "web" }}{{ .Port }}{{ end }}`, Destination: filepath.Join(dir, "a")}
	b := manifests.Template{ID: "b", Contents: `b {{ range service "web" }}{{ .Address }}{{ end }}`, Destination: filepath.Join(dir, "b")}
	r, err := NewRunner([]manifests.Template{a}, RunnerOptions{Source: CatalogSource{Catalog: cat}})
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	eventually(t, "a rendered", fileIs(a.Destination, "31001"))

	// A bad set is refused and the running one stays.
	if err := r.Update([]manifests.Template{a, {ID: "c", Contents: "{{ nope }}", Destination: "/tmp/c"}}); err == nil {
		t.Fatal("Update accepted a template with an unknown function")
	}
	if err := r.Update([]manifests.Template{a, b}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b rendered from the data already watched", fileIs(b.Destination, "b 127.0.0.2"))
	if s := statusOf(r, "a"); s.Writes != 1 || !s.Rendered {
		t.Errorf("unchanged a lost its state: %+v", s)
	}
	b.Contents = `b2 {{ range service "web" }}{{ .Address }}{{ end }}`
	if err := r.Update([]manifests.Template{b}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "changed b re-rendered", fileIs(b.Destination, "b2 127.0.0.2"))
	eventually(t, "a dropped from status", func() bool { return len(r.Status()) == 1 })
	// a is no longer managed: data changes no longer touch its file.
	cat.Register(webInstance("web-2", 31002))
	eventually(t, "b sees the new instance", fileIs(b.Destination, "b2 127.0.0.2127.0.0.2"))
	if got, _ := os.ReadFile(a.Destination); string(got) != "31001" {
		t.Errorf("removed template a was re-rendered: %q", got)
	}
}

// TestRunnerEnvLimitedToPrefix: a template from Git reads the process
// environment only through the operator's prefix; any other variable (the
// process holds BERTH_GIT_TOKEN, CONSUL_HTTP_TOKEN) fails the render, naming
// the setting, and is never written out.
func TestRunnerEnvLimitedToPrefix(t *testing.T) {
	t.Setenv("BERTH_TEMPLATE_REGION", "eu-1")
	t.Setenv("BERTH_GIT_TOKEN", "s3cret-git-token")
	render := func(prefix, contents string) (string, error) {
		var out bytes.Buffer
		r, err := NewRunner([]manifests.Template{{ID: "t", Contents: contents, Destination: "/nonexistent/t"}},
			RunnerOptions{Source: CatalogSource{Catalog: &MemoryCatalog{}}, Dry: &out, EnvPrefix: prefix})
		if err != nil {
			return "", err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = r.RunOnce(ctx)
		return out.String(), err
	}
	out, err := render(DefaultEnvPrefix, `{{ env "BERTH_TEMPLATE_REGION" }} {{ envOrDefault "BERTH_TEMPLATE_UNSET" "dflt" }}`)
	if err != nil || !strings.Contains(out, "eu-1 dflt") {
		t.Fatalf("allowed variables: %q, %v", out, err)
	}
	for _, tc := range []struct{ prefix, contents string }{
		{DefaultEnvPrefix, `{{ env "BERTH_GIT_TOKEN" }}`},
		{DefaultEnvPrefix, `{{ envOrDefault "BERTH_GIT_TOKEN" "x" }}`},
		{"", `{{ env "BERTH_TEMPLATE_REGION" }}`},
	} {
		out, err := render(tc.prefix, tc.contents)
		if strings.Contains(out, "s3cret") || strings.Contains(out, "eu-1") {
			t.Errorf("prefix %q, %s: rendered %q", tc.prefix, tc.contents, out)
		}
		if err == nil || !strings.Contains(err.Error(), "--template-env-prefix") {
			t.Errorf("prefix %q, %s: error %v, want one naming --template-env-prefix", tc.prefix, tc.contents, err)
		}
	}
}
