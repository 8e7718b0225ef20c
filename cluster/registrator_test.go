package cluster

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRegistratorConventions(t *testing.T) {
	as := Assignment{TaskID: "shop.1", OwnerID: "/shop/web", Version: "v1", Spec: TaskSpec{
		Env: map[string]string{"SERVICE_NAME": "shop", "SERVICE_TAGS": "blue, v2", "SERVICE_CHECK_HTTP": "/health",
			"SERVICE_CHECK_INTERVAL": "2s", "SERVICE_CHECK_TIMEOUT": "1s", "SERVICE_8080_NAME": "shop-admin",
			"SERVICE_8080_CHECK_TCP": "true", "SERVICE_REGION": "eu", "SERVICE_ID": "fixed", "SERVICE_9000_IGNORE": "1"},
		Labels: map[string]string{"SERVICE_REGION": "us", "SERVICE_CHECK_INITIAL_STATUS": "passing"},
		Ports:  []PortSpec{{Name: "http", ContainerPort: 80}, {Name: "admin", ContainerPort: 8080}, {Name: "debug", ContainerPort: 9000}},
	}}
	got := TaskServices("n1", "10.0.0.1", as, []int{31001, 31002, 31003})
	meta := func(extra map[string]string) map[string]string {
		m := map[string]string{MetaAgent: "n1", MetaApp: "/shop/web", MetaTask: "shop.1", MetaVersion: "v1"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	want := []Service{
		{ID: "berth-shop.1-0", Name: "shop-80", Tags: []string{"blue", "v2"}, Address: "10.0.0.1", Port: 31001,
			Meta:  meta(map[string]string{"region": "us"}),
			Check: ServiceCheck{HTTP: "http://10.0.0.1:31001/health", Interval: 2 * time.Second, Timeout: time.Second, InitialStatus: "passing"}},
		{ID: "berth-shop.1-1", Name: "shop-admin", Tags: []string{"blue", "v2"}, Address: "10.0.0.1", Port: 31002,
			Meta:  meta(map[string]string{"region": "us"}),
			Check: ServiceCheck{HTTP: "http://10.0.0.1:31002/health", Interval: 2 * time.Second, Timeout: time.Second, InitialStatus: "passing"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// One port, no SERVICE_* at all: Berth's own naming, TTL check.
	plain := Assignment{TaskID: "w.1", OwnerID: "/web", Spec: TaskSpec{Ports: []PortSpec{{ContainerPort: 80}}}}
	if got := TaskServices("n1", "10.0.0.1", plain, []int{31001}); len(got) != 1 || got[0].Name != "web" || got[0].Check.TTL != ServiceTTL {
		t.Errorf("plain: %+v", got)
	}
	// SERVICE_IGNORE: nothing; host networking keys ports by the host port.
	ignored := Assignment{TaskID: "i.1", OwnerID: "/i", Spec: TaskSpec{Env: map[string]string{"SERVICE_IGNORE": "yes"}, Ports: []PortSpec{{}}}}
	if got := TaskServices("n1", "10.0.0.1", ignored, []int{31005}); len(got) != 0 {
		t.Errorf("ignored: %+v", got)
	}
	host := Assignment{TaskID: "h.1", OwnerID: "/h", Spec: TaskSpec{Env: map[string]string{"SERVICE_31005_NAME": "by-port", "SERVICE_31005_CHECK_TCP": "1"}, Ports: []PortSpec{{}}}}
	if got := TaskServices("n1", "10.0.0.1", host, []int{31005}); len(got) != 1 || got[0].Name != "by-port" || got[0].Check.TCP != "10.0.0.1:31005" {
		t.Errorf("host networking: %+v", got)
	}
}

func FuzzRegistratorMeta(f *testing.F) {
	f.Add("SERVICE_80_NAME", "x", "80")
	f.Add("SERVICE_CHECK_HTTP", "/h", "")
	f.Add("SERVICE__", "", "_")
	f.Fuzz(func(t *testing.T, k, v, port string) {
		meta, fromPort := registratorMeta(map[string]string{k: v}, map[string]string{k: v + "l"}, port)
		for key := range fromPort {
			if _, ok := meta[key]; !ok {
				t.Fatalf("fromPort %q without meta", key)
			}
		}
		svc := Service{Meta: map[string]string{MetaTask: "t"}}
		applyRegistrator(&svc, meta, fromPort, port, true, "127.0.0.1:1")
		if svc.Meta[MetaTask] != "t" {
			t.Fatalf("berth meta overwritten: %v", svc.Meta)
		}
	})
}
