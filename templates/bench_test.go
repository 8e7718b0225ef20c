package templates

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// bigUpstreams is an nginx config with one upstream per service.
const bigUpstreams = `{{- range services }}
upstream {{ .Name }} {
{{- range service .Name }}
  server {{ .Address }}:{{ .Port }};
{{- end }}
}
{{- end }}
`

func bigCatalog(services, instances int) *CatalogData {
	d := &CatalogData{}
	for n := 0; n < 10; n++ {
		d.Nodes = append(d.Nodes, CatalogNodeInfo{Name: fmt.Sprintf("node-%d", n), Address: fmt.Sprintf("127.0.1.%d", n)})
	}
	for s := 0; s < services; s++ {
		for i := 0; i < instances; i++ {
			n := (s + i) % 10
			d.Instances = append(d.Instances, Instance{
				ID: fmt.Sprintf("svc-%04d-%02d", s, i), Name: fmt.Sprintf("svc-%04d", s),
				Node: fmt.Sprintf("node-%d", n), NodeAddress: fmt.Sprintf("127.0.1.%d", n),
				Port: 20000 + i, Tags: []string{"http"},
			})
		}
	}
	return d
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRender1000Services10Instances renders one upstream per service
// for 1,000 services of 10 instances each, with every answer already
// fetched: the cost of one render pass. Target: under 50 ms of CPU.
func BenchmarkRender1000Services10Instances(b *testing.B) {
	tmpl, err := Parse("big", bigUpstreams, Options{})
	if err != nil {
		b.Fatal(err)
	}
	data := bigCatalog(1000, 10)
	snap := Snapshot{}
	for pass := 0; ; pass++ {
		res, err := tmpl.Execute(ExecInput{Data: snap})
		if err != nil {
			b.Fatal(err)
		}
		if res.Complete() {
			break
		}
		for _, q := range res.Missing {
			snap.Set(q, Answer(data, q))
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	var size int
	for b.Loop() {
		res, err := tmpl.Execute(ExecInput{Data: snap})
		if err != nil || !res.Complete() {
			b.Fatal("incomplete render", err)
		}
		size = len(res.Output)
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(size), "bytes-out")
}
