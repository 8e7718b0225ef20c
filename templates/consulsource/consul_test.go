package consulsource_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/templates"
	"github.com/berthops/berth/templates/consulsource"
	"github.com/berthops/berth/testenv"
)

const corpusDir = "../testdata/corpus"

func corpusEnv(name string) (string, bool) {
	if name == "BERTH_CORPUS_VAR" {
		return "corpus-value", true
	}
	return "", false
}

func consulClient(t testing.TB, c *testenv.Consul) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = c.Addr
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// loadCorpus registers the corpus data (nodes, instances with their health,
// KV) in Consul through the catalog API, as an external registrar would.
func loadCorpus(t testing.TB, client *api.Client) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d templates.CatalogData
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	meta := map[string]map[string]string{}
	for _, n := range d.Nodes {
		meta[n.Name] = n.Meta
		if _, err := client.Catalog().Register(&api.CatalogRegistration{Node: n.Name, Address: n.Address, NodeMeta: n.Meta}, nil); err != nil {
			t.Fatalf("register node %s: %v", n.Name, err)
		}
	}
	for _, in := range d.Instances {
		reg := &api.CatalogRegistration{
			Node: in.Node, Address: in.NodeAddress, NodeMeta: meta[in.Node], SkipNodeUpdate: true,
			Service: &api.AgentService{ID: in.ID, Service: in.Name, Tags: in.Tags, Port: in.Port, Address: in.Address, Meta: in.Meta},
		}
		if in.Status != "" && in.Status != "passing" {
			reg.Check = &api.AgentCheck{Node: in.Node, CheckID: "service:" + in.ID, Name: "health", Status: in.Status, ServiceID: in.ID}
		}
		if _, err := client.Catalog().Register(reg, nil); err != nil {
			t.Fatalf("register %s: %v", in.ID, err)
		}
	}
	for k, v := range d.KV {
		var val []byte
		if v != "" || !strings.HasSuffix(k, "/") {
			val = []byte(v)
		}
		if _, err := client.KV().Put(&api.KVPair{Key: k, Value: val}, nil); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
}

func corpusTemplates(t testing.TB, outDir string) []manifests.Template {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.tmpl"))
	if len(files) == 0 {
		t.Fatal("no corpus templates")
	}
	var specs []manifests.Template
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(f)
		spec := manifests.Template{ID: filepath.Base(f), Source: abs, Contents: string(src),
			Destination: filepath.Join(outDir, strings.TrimSuffix(filepath.Base(f), ".tmpl")+".out")}
		if strings.HasPrefix(filepath.Base(f), "delims") {
			spec.LeftDelim, spec.RightDelim = "[[", "]]"
		}
		specs = append(specs, spec)
	}
	return specs
}

// consulTemplateConfig is the HCL that makes consul-template render the same
// templates to the same names in its own directory.
func consulTemplateConfig(addr string, specs []manifests.Template, outDir string) string {
	var b strings.Builder
	b.WriteString("consul {\n  address = \"" + addr + "\"\n}\nlog_level = \"warn\"\n")
	for _, s := range specs {
		b.WriteString("template {\n  source = \"" + s.Source + "\"\n  destination = \"" + filepath.Join(outDir, filepath.Base(s.Destination)) + "\"\n")
		if s.LeftDelim != "" {
			b.WriteString("  left_delimiter = \"" + s.LeftDelim + "\"\n  right_delimiter = \"" + s.RightDelim + "\"\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// TestByteIdenticalToConsulTemplate renders the whole corpus (every
// supported function) with Berth and with consul-template itself against the
// same Consul, and compares the files byte for byte.
func TestByteIdenticalToConsulTemplate(t *testing.T) {
	consul := testenv.StartConsul(t)
	ctBin := testenv.ToolPath(t, "consul-template")
	client := consulClient(t, consul)
	loadCorpus(t, client)

	berthDir, ctDir := t.TempDir(), t.TempDir()
	specs := corpusTemplates(t, berthDir)
	src, err := consulsource.New(consul.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := templates.NewRunner(specs, templates.RunnerOptions{Source: src, Env: corpusEnv})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}

	cfg := filepath.Join(t.TempDir(), "ct.hcl")
	if err := os.WriteFile(cfg, []byte(consulTemplateConfig(consul.Addr, specs, ctDir)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, ctBin, "-config", cfg, "-once")
	cmd.Env = append(os.Environ(), "BERTH_CORPUS_VAR=corpus-value")
	cmd.Env = append(cmd.Env, "BERTH_CORPUS_UNSET=")
	cmd.Env = filterEnv(cmd.Env, "BERTH_CORPUS_UNSET")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("consul-template: %v\n%s", err, out)
	}
	for _, s := range specs {
		name := filepath.Base(s.Destination)
		got, err := os.ReadFile(s.Destination)
		if err != nil {
			t.Errorf("berth did not render %s: %v", name, err)
			continue
		}
		want, err := os.ReadFile(filepath.Join(ctDir, name))
		if err != nil {
			t.Errorf("consul-template did not render %s: %v", name, err)
			continue
		}
		if len(got) < 20 {
			t.Errorf("%s rendered to almost nothing: %q", name, got)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from consul-template's:\n--- berth\n%s\n--- consul-template\n%s", s.ID, got, want)
		}
	}
}

func filterEnv(env []string, drop string) []string {
	out := env[:0]
	for _, e := range env {
		if !strings.HasPrefix(e, drop+"=") {
			out = append(out, e)
		}
	}
	return out
}
