package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/policy"
)

func newAgentsCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "agents",
		Short: "List agents with their reachability, resources, ports and tasks",
		Long: `agents lists every agent registered in the cluster state (GET /v1/agents): its
address, whether its session is alive (an unreachable agent's tasks are
replaced elsewhere), the resources and host ports it offers, its attributes
for constraints and how many live tasks it runs (counted by the server,
GET /v1/agents?usage=1). See docs/api.md.`,
		Example: `  berth agents
  berth agents -o json | jq '.[] | select(.reachable | not) | .id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, cancel := f.request(cmd.Context())
			defer cancel()
			rows, err := c.AgentsWithUsage(ctx)
			if err != nil {
				return f.hint(err)
			}
			agents := make([]cluster.Agent, len(rows))
			running := map[string]int{}
			for i, r := range rows {
				agents[i] = r.Agent
				if r.Tasks != nil {
					running[r.ID] = *r.Tasks
				}
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), agents)
			}
			if len(agents) == 0 {
				cmd.PrintErrln("no agents registered: start one with `berth agent`")
				return nil
			}
			renderAgents(cmd.OutOrStdout(), agents, running, time.Now())
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// renderAgents prints agents by id with the number of live tasks on each.
func renderAgents(w io.Writer, agents []cluster.Agent, running map[string]int, now time.Time) {
	agents = append([]cluster.Agent(nil), agents...)
	sort.Slice(agents, func(i, j int) bool { return agents[i].ID < agents[j].ID })
	tw := newTable(w, "ID", "ADDRESS", "REACHABLE", "CPUS", "MEM", "DISK", "PORTS", "TASKS", "ATTRIBUTES", "ALLOWS", "AGE")
	for _, a := range agents {
		reachable := "yes"
		if !a.Reachable {
			reachable = "no"
		}
		ports := make([]string, 0, len(a.Ports))
		for _, p := range a.Ports {
			if p.Begin == p.End {
				ports = append(ports, strconv.Itoa(p.Begin))
			} else {
				ports = append(ports, fmt.Sprintf("%d-%d", p.Begin, p.End))
			}
		}
		attrs := make([]string, 0, len(a.Attributes))
		for k, v := range a.Attributes {
			attrs = append(attrs, k+"="+v)
		}
		sort.Strings(attrs)
		row(tw, a.ID, a.Address, reachable, strconv.FormatFloat(a.Resources.CPUs, 'g', -1, 64),
			mib(a.Resources.Mem), mib(a.Resources.Disk), strings.Join(ports, ","), strconv.Itoa(running[a.ID]),
			strings.Join(attrs, ","), policy.Describe(agentPolicy(a)), age(a.RegisteredAt, now))
	}
	tw.Flush()
}

// agentPolicy is what a registration says the agent allows; an agent of a
// version before policies advertises only allowPrivileged.
func agentPolicy(a cluster.Agent) cluster.AgentPolicy {
	p := a.Policy
	p.Privileged = p.Privileged || a.AllowPrivileged
	return p
}

// mib shows a size in MiB as people read it: 512Mi, 4Gi, 1.5Gi.
func mib(m float64) string {
	unit := "Mi"
	if m >= 1024 {
		m, unit = m/1024, "Gi"
	}
	return strings.TrimSuffix(strconv.FormatFloat(m, 'f', 1, 64), ".0") + unit
}
