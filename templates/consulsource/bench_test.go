package consulsource_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/templates"
	"github.com/berthops/berth/templates/consulsource"
	"github.com/berthops/berth/testenv"
)

// BenchmarkRegistrationToFile measures, for Berth and for consul-template
// watching the same Consul with the same template in the same run, the time
// from a service registration returning to the new file being on disk, over
// 50 registrations; it reports each one's p50 and p90. Run with -benchtime=1x.
func BenchmarkRegistrationToFile(b *testing.B) {
	const changes = 50
	consul := testenv.StartConsul(b)
	client := consulClient(b, consul)
	ctBin := testenv.ToolPath(b, "consul-template")
	dir := b.TempDir()
	src := filepath.Join(dir, "web.tmpl")
	if err := os.WriteFile(src, []byte(walkthroughUpstream), 0o644); err != nil {
		b.Fatal(err)
	}
	berthOut, ctOut := filepath.Join(dir, "berth.conf"), filepath.Join(dir, "ct.conf")
	reg := func(i int) {
		err := client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: fmt.Sprintf("web-%d", i), Name: "web", Address: "127.0.0.2", Port: 20000 + i})
		if err != nil {
			b.Fatal(err)
		}
	}
	reg(0)

	source, err := consulsource.New(consul.Addr)
	if err != nil {
		b.Fatal(err)
	}
	r, err := templates.NewRunner([]manifests.Template{{ID: "web", Source: src, Contents: walkthroughUpstream, Destination: berthOut}}, templates.RunnerOptions{Source: source})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	ct := exec.CommandContext(ctx, ctBin, "-consul-addr", consul.Addr, "-template", src+":"+ctOut, "-log-level", "err")
	if err := ct.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cancel(); ct.Wait() }()

	has := func(path, needle string) bool {
		body, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(body), needle)
	}
	waitBoth := func(needle string) (time.Duration, time.Duration) {
		start := time.Now()
		var berth, cT time.Duration
		deadline := start.Add(30 * time.Second)
		for berth == 0 || cT == 0 {
			if berth == 0 && has(berthOut, needle) {
				berth = time.Since(start)
			}
			if cT == 0 && has(ctOut, needle) {
				cT = time.Since(start)
			}
			if time.Now().After(deadline) {
				b.Fatalf("%q not rendered within 30s (berth %v, consul-template %v)", needle, berth, cT)
			}
			time.Sleep(200 * time.Microsecond)
		}
		return berth, cT
	}
	waitBoth(":20000;")

	var berthLat, ctLat []time.Duration
	b.ResetTimer()
	for i := 1; i <= changes; i++ {
		reg(i)
		bl, cl := waitBoth(fmt.Sprintf(":%d;", 20000+i))
		berthLat, ctLat = append(berthLat, bl), append(ctLat, cl)
	}
	b.StopTimer()
	pct := func(l []time.Duration, p int) float64 {
		s := append([]time.Duration(nil), l...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return float64(s[(len(s)-1)*p/100]) / 1e6
	}
	b.ReportMetric(pct(berthLat, 50), "berth-p50-ms")
	b.ReportMetric(pct(ctLat, 50), "consul-template-p50-ms")
	b.ReportMetric(pct(berthLat, 90), "berth-p90-ms")
	b.ReportMetric(pct(ctLat, 90), "consul-template-p90-ms")
}
