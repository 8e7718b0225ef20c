// Package consulreg is the agent's Consul adapter: it publishes running
// tasks as Consul services, as Registrator did, and implements
// agent.Registry over the Consul HTTP API. What a task registers (names,
// tags, checks) is the cluster model's (cluster.TaskServices); this package
// only speaks Consul.
package consulreg

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/berthops/berth/cluster"
)

// Registry registers tasks in the local Consul agent, as Registrator
// did, but driven by the agent's own view of its tasks rather than by Docker
// events: services are removed before the container is stopped, and a
// periodic Sync re-registers what a restarted Consul agent forgot and removes
// what a crashed Berth agent left behind.
type Registry struct {
	client  *api.Client
	agentID string
	log     *slog.Logger

	// mu guards the maps and is held while Sync re-registers, so a task
	// deregistered concurrently is never brought back.
	mu      sync.Mutex
	tasks   map[string][]cluster.Service
	healthy map[string]bool
}

// NewRegistry returns a registry for agentID's tasks. Only services
// whose meta names agentID are ever changed, so several agents can share one
// Consul agent.
func New(client *api.Client, agentID string, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.Default()
	}
	return &Registry{client: client, agentID: agentID, log: log.With("agent", agentID),
		tasks: map[string][]cluster.Service{}, healthy: map[string]bool{}}
}

// Register implements agent.Registry.
func (r *Registry) Register(ctx context.Context, taskID string, svcs []cluster.Service) error {
	r.mu.Lock()
	r.tasks[taskID] = svcs
	healthy := r.healthy[taskID]
	r.mu.Unlock()
	for _, s := range svcs {
		if err := r.register(ctx, s, healthy); err != nil {
			return err
		}
	}
	return nil
}

func (r *Registry) register(ctx context.Context, s cluster.Service, healthy bool) error {
	reg := consulRegistration(s, healthy)
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	if err := r.client.Agent().ServiceRegisterOpts(reg, opts); err != nil {
		return fmt.Errorf("register service %s (%s) in consul: %w", s.ID, s.Name, err)
	}
	return nil
}

// consulRegistration is the Consul form of a cluster.Service. The TTL check starts
// in the agent's current verdict, so a task with no health check of its own
// is passing at once and one still in its grace period is not.
func consulRegistration(s cluster.Service, healthy bool) *api.AgentServiceRegistration {
	check := &api.AgentServiceCheck{CheckID: checkID(s.ID), Name: "berth " + s.Name}
	switch {
	case s.Check.HTTP != "":
		check.HTTP, check.TLSSkipVerify = s.Check.HTTP, true
	case s.Check.TCP != "":
		check.TCP = s.Check.TCP
	default:
		check.TTL = s.Check.TTL.String()
		check.Status = api.HealthCritical
		if healthy {
			check.Status = api.HealthPassing
		}
	}
	if s.Check.TTL == 0 {
		check.Status = s.Check.InitialStatus
		check.Interval = s.Check.Interval.String()
		if s.Check.Timeout > 0 {
			check.Timeout = s.Check.Timeout.String()
		}
	}
	return &api.AgentServiceRegistration{
		ID: s.ID, Name: s.Name, Tags: s.Tags, Address: s.Address, Port: s.Port, Meta: s.Meta,
		Check: check,
	}
}

// consulTimeout bounds calls made without a caller's context, so a hung
// Consul agent cannot stall a task's supervision.
const consulTimeout = 5 * time.Second

func checkID(serviceID string) string { return "service:" + serviceID }

// Deregister implements Registry: every service of the task goes, including
// ones left by an earlier run of the agent that this one never registered.
func (r *Registry) Deregister(ctx context.Context, taskID string) error {
	r.mu.Lock()
	known := r.tasks[taskID]
	delete(r.tasks, taskID)
	delete(r.healthy, taskID)
	r.mu.Unlock()
	ids := map[string]bool{}
	for _, s := range known {
		ids[s.ID] = true
	}
	if len(known) == 0 {
		mine, err := r.mine(ctx)
		if err != nil {
			return err
		}
		for id, s := range mine {
			if s.Meta[cluster.MetaTask] == taskID {
				ids[id] = true
			}
		}
	}
	for id := range ids {
		if err := r.client.Agent().ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
			return fmt.Errorf("deregister service %s of task %s from consul: %w", id, taskID, err)
		}
	}
	return nil
}

// SetHealthy implements Registry; the TTL checks follow at the next Sync, and
// at once here so a verdict is visible without waiting.
func (r *Registry) SetHealthy(taskID string, healthy bool) {
	r.mu.Lock()
	r.healthy[taskID] = healthy
	svcs := r.tasks[taskID]
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), consulTimeout)
	defer cancel()
	for _, s := range svcs {
		if s.Check.TTL > 0 {
			r.updateTTL(ctx, s, healthy)
		}
	}
}

func (r *Registry) updateTTL(ctx context.Context, s cluster.Service, healthy bool) {
	status, out := api.HealthCritical, "berth agent: task not healthy"
	if healthy {
		status, out = api.HealthPassing, "berth agent: task running and healthy"
	}
	if err := r.client.Agent().UpdateTTLOpts(checkID(s.ID), out, status, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
		r.log.Debug("update TTL check", "service", s.ID, "err", err)
	}
}

// mine lists the services in Consul that this agent registered.
func (r *Registry) mine(ctx context.Context) (map[string]*api.AgentService, error) {
	filter := "Meta[" + strconv.Quote(cluster.MetaAgent) + "] == " + strconv.Quote(r.agentID)
	svcs, err := r.client.Agent().ServicesWithFilterOpts(filter, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("list this agent's services in consul: %w", err)
	}
	return svcs, nil
}

// Sync makes Consul hold exactly this agent's wanted services: it removes
// services of tasks that keep does not claim (left by a crash), re-registers
// services Consul lost (a restarted Consul agent), and refreshes TTL checks.
func (r *Registry) Sync(ctx context.Context, keep func(taskID string) bool) error {
	have, err := r.mine(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	wanted := map[string]bool{}
	for taskID, svcs := range r.tasks {
		healthy := r.healthy[taskID]
		for _, s := range svcs {
			wanted[s.ID] = true
			if _, ok := have[s.ID]; !ok {
				r.log.Info("re-registering service consul lost", "service", s.ID, "task", taskID)
				if err := r.register(ctx, s, healthy); err != nil {
					return err
				}
				continue
			}
			if s.Check.TTL > 0 {
				r.updateTTL(ctx, s, healthy)
			}
		}
	}
	for id, s := range have {
		if wanted[id] || keep(s.Meta[cluster.MetaTask]) {
			continue
		}
		r.log.Info("removing stale service", "service", id, "task", s.Meta[cluster.MetaTask])
		if err := r.client.Agent().ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
			return fmt.Errorf("deregister stale service %s: %w", id, err)
		}
	}
	return nil
}
