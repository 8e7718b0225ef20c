package testenv

import (
	"context"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
)

func TestConsulStartsRegistersAndRestarts(t *testing.T) {
	c := StartConsul(t)
	client, err := consul.NewClient(&consul.Config{Address: c.Addr})
	if err != nil {
		t.Fatal(err)
	}
	reg := &consul.AgentServiceRegistration{ID: "web-1", Name: "web", Address: "127.0.0.2", Port: 31001}
	if err := client.Agent().ServiceRegister(reg); err != nil {
		t.Fatalf("register: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		entries, _, err := client.Catalog().Service("web", "", nil)
		if err == nil && len(entries) == 1 && entries[0].ServicePort == 31001 {
			break
		}
		if ctxDone(ctx) {
			t.Fatalf("service not in catalog: %v %v", entries, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.Restart()
	entries, _, err := client.Catalog().Service("web", "", nil)
	if err != nil {
		t.Fatalf("catalog after restart: %v", err)
	}
	if len(entries) != 0 {
		t.Fatalf("dev-mode restart kept %d registrations; tests rely on it losing them", len(entries))
	}
}
