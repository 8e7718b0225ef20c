package agent

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/agent/consulreg"
	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/testenv"
)

// TestRegistratorConventionsInConsul: a task whose env and labels carry
// Registrator's SERVICE_* variables is registered in a real Consul as
// Registrator registered it: its names, tags, meta and a Consul HTTP check
// on the path it names; a task with SERVICE_IGNORE is not registered.
func TestRegistratorConventionsInConsul(t *testing.T) {
	h := newHarness(t)
	consul := testenv.StartConsul(t)
	cl := consulClient(t, consul)
	node := h.node("127.0.0.6")
	stop := h.startWith(node, consulreg.New(cl, node.ID, nil), time.Second)
	defer stop()

	taken := map[int]bool{}
	shop := webTask(node, "shop.1", rangePort(t, node.Address, taken), rangePort(t, node.Address, taken))
	shop.OwnerID = "/shop/web"
	for k, v := range map[string]string{"SERVICE_NAME": "shop", "SERVICE_TAGS": "blue,v2", "SERVICE_CHECK_HTTP": "/health",
		"SERVICE_CHECK_INTERVAL": "1s", "SERVICE_8080_NAME": "shop-admin", "SERVICE_REGION": "eu"} {
		shop.Spec.Env[k] = v
	}
	shop.Spec.Labels["SERVICE_8080_TAGS"] = "admin"
	ignored := webTask(node, "quiet.1", rangePort(t, node.Address, taken))
	ignored.OwnerID = "/quiet"
	ignored.Spec.Env["WEB_PORTS"] = "80"
	ignored.Spec.Env["SERVICE_IGNORE"] = "true"
	h.fc.put(shop)
	h.fc.put(ignored)
	h.fc.waitState(t, "quiet.1", cluster.TaskRunning)

	web := waitPassing(t, cl, "shop-80", 1)[0].Service
	admin := waitPassing(t, cl, "shop-admin", 1)[0].Service
	if web.Port != shop.Spec.Ports[0].HostPort || admin.Port != shop.Spec.Ports[1].HostPort {
		t.Errorf("ports: shop-80 %d, shop-admin %d; want %d and %d", web.Port, admin.Port, shop.Spec.Ports[0].HostPort, shop.Spec.Ports[1].HostPort)
	}
	if !contains(web.Tags, "blue") || !contains(web.Tags, "v2") || !contains(web.Tags, "public") || contains(web.Tags, "admin") {
		t.Errorf("shop-80 tags %v: want blue, v2 and Berth's public", web.Tags)
	}
	if !contains(admin.Tags, "admin") {
		t.Errorf("shop-admin tags %v: want the port's own tag admin", admin.Tags)
	}
	if web.Meta["region"] != "eu" || web.Meta[metaTask] != "shop.1" {
		t.Errorf("shop-80 meta %v: want region=eu beside Berth's", web.Meta)
	}
	checks, _, err := cl.Health().Checks("shop-80", nil)
	if err != nil || len(checks) != 1 || checks[0].Type != "http" {
		t.Fatalf("shop-80 checks %+v (%v): want one Consul HTTP check", checks, err)
	}
	if svcs, _ := cl.Agent().Services(); func() bool {
		for _, s := range svcs {
			if s.Meta[metaTask] == "quiet.1" {
				return true
			}
		}
		return false
	}() {
		t.Errorf("the SERVICE_IGNORE task is registered")
	}

	// The check is Consul's own HTTP probe of /health (the task has no
	// health check of its own, so Berth alone would call it passing):
	// breaking /health turns the service critical.
	resp, err := http.Post(fmt.Sprintf("http://%s:%d/fail", node.Address, web.Port), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		entries, _, err := cl.Health().Service("shop-80", "", false, nil)
		if err == nil && len(entries) == 1 && entries[0].Checks.AggregatedStatus() == api.HealthCritical {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shop-80 never turned critical after /fail")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
