package agent

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/cluster"
)

func ptr(f float64) *float64 { return &f }

func TestParseResources(t *testing.T) {
	tests := []struct {
		in      string
		want    ResourceFlag
		wantErr string
	}{
		{in: "", want: ResourceFlag{}},
		{in: "cpus:4;mem:8192;disk:40000;ports:[31000-32000]", want: ResourceFlag{CPUs: ptr(4), Mem: ptr(8192), Disk: ptr(40000),
			Ports: []cluster.PortRange{{Begin: 31000, End: 32000}}}},
		{in: " cpus : 0.5 ; ", want: ResourceFlag{CPUs: ptr(0.5)}},
		{in: "ports:[33000-33100, 31000-31010,8080]", want: ResourceFlag{Ports: []cluster.PortRange{
			{Begin: 8080, End: 8080}, {Begin: 31000, End: 31010}, {Begin: 33000, End: 33100}}}},
		{in: "cpus:four", wantErr: "cpus:four: want a non-negative number"},
		{in: "cpus:-1", wantErr: "want a non-negative number"},
		{in: "cpus:NaN", wantErr: "want a non-negative number"},
		{in: "gpus:1", wantErr: `unknown resource "gpus"`},
		{in: "cpus:1;cpus:2", wantErr: "cpus given twice"},
		{in: "mem", wantErr: "want name:value"},
		{in: "ports:31000-32000", wantErr: "want [begin-end,...]"},
		{in: "ports:[32000-31000]", wantErr: "1 <= begin <= end <= 65535"},
		{in: "ports:[1-70000]", wantErr: "1 <= begin <= end <= 65535"},
		{in: "ports:[]", wantErr: "no port range"},
		{in: "ports:[100-200,150-300]", wantErr: "overlap"},
	}
	for _, tt := range tests {
		got, err := ParseResources(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseResources(%q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseResources(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseResources(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseAttributes(t *testing.T) {
	got, err := ParseAttributes("rack:r1;zone:a;")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"rack": "r1", "zone": "a"}, got); diff != "" {
		t.Error(diff)
	}
	for in, want := range map[string]string{
		"rack":            "want name:value",
		"rack:r1;rack:r2": "rack given twice",
		"hostname:x":      "hostname is not an attribute",
		"zone:":           "want name:value",
	} {
		if _, err := ParseAttributes(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAttributes(%q) error %v, want %q", in, err, want)
		}
	}
}

func TestResourceFlagApply(t *testing.T) {
	detected := cluster.Resources{CPUs: 8, Mem: 16000, Disk: 100000}
	ports := []cluster.PortRange{{Begin: defaultPortBegin, End: defaultPortEnd}}
	f, err := ParseResources("mem:4096;ports:[40000-40010]")
	if err != nil {
		t.Fatal(err)
	}
	r, p := f.Apply(detected, ports)
	if r != (cluster.Resources{CPUs: 8, Mem: 4096, Disk: 100000}) || len(p) != 1 || p[0].Begin != 40000 {
		t.Errorf("Apply: %+v %+v", r, p)
	}
}

func TestDetectResources(t *testing.T) {
	r, p, err := DetectResources("/")
	if err != nil {
		t.Fatal(err)
	}
	if r.CPUs < 1 || r.Mem <= 0 || r.Disk <= 0 || len(p) != 1 || p[0].Begin != 31000 {
		t.Errorf("detected %+v %+v", r, p)
	}
}

func FuzzParseResources(f *testing.F) {
	for _, s := range []string{"cpus:4;mem:8192;disk:40000;ports:[31000-32000]", "ports:[1-2,3-4]", "cpus:1e400", ";;", "ports:[-]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseResources(s)
		if err != nil {
			return
		}
		for _, v := range []*float64{r.CPUs, r.Mem, r.Disk} {
			if v != nil && (*v < 0 || *v != *v) {
				t.Fatalf("%q: accepted %v", s, *v)
			}
		}
		for i, pr := range r.Ports {
			if pr.Begin < 1 || pr.End > 65535 || pr.Begin > pr.End || (i > 0 && pr.Begin <= r.Ports[i-1].End) {
				t.Fatalf("%q: accepted ranges %v", s, r.Ports)
			}
		}
	})
}

func FuzzParseAttributes(f *testing.F) {
	for _, s := range []string{"rack:r1;zone:a", "a:b:c", ";", "hostname:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseAttributes(s)
		if err != nil {
			return
		}
		for k, v := range m {
			if k == "" || v == "" || k == "hostname" {
				t.Fatalf("%q: accepted %q=%q", s, k, v)
			}
		}
	})
}
