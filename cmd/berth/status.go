package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/server"
)

// apiFlags are the flags every command that talks to a running server
// shares: where it is, the token and the output format.
type apiFlags struct {
	server, tokenFile, output string
	timeout                   time.Duration
	tls                       client.TLSFiles
}

// registerClientTLS adds the flags a client needs for a server with its own
// CA or mutual TLS; their defaults come from the environment.
func registerClientTLS(fl *pflag.FlagSet, f *client.TLSFiles) {
	fl.StringVar(&f.CA, "ca-cert", os.Getenv("BERTH_CA_CERT"), "PEM CA certificates the server's HTTPS certificate is checked against ($BERTH_CA_CERT; default: the system's)")
	fl.StringVar(&f.Cert, "client-cert", os.Getenv("BERTH_CLIENT_CERT"), "PEM client certificate for a server that requires mutual TLS ($BERTH_CLIENT_CERT)")
	fl.StringVar(&f.Key, "client-key", os.Getenv("BERTH_CLIENT_KEY"), "PEM key of --client-cert ($BERTH_CLIENT_KEY)")
}

func (f *apiFlags) register(cmd *cobra.Command) {
	srv := os.Getenv("BERTH_SERVER")
	if srv == "" {
		srv = "http://127.0.0.1:8080"
	}
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", srv, "berth server URL ($BERTH_SERVER if set)")
	fl.StringVar(&f.tokenFile, "token-file", os.Getenv("BERTH_TOKEN_FILE"), "file holding the API bearer token (default from $BERTH_TOKEN_FILE, else .berth/token written by berth up, for a server on this machine)")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	fl.DurationVar(&f.timeout, "request-timeout", 30*time.Second, "time limit for each API request")
	registerClientTLS(fl, &f.tls)
}

// client checks the flags and returns a client for the server.
func (f *apiFlags) client() (*client.Client, error) {
	if f.output != "text" && f.output != "json" {
		return nil, fmt.Errorf("-o %q: want text or json", f.output)
	}
	if f.tokenFile == "" && loopback(f.server) {
		// `berth up` keeps its token here; only offered to a server on this
		// machine, so a token is never sent somewhere nobody asked for.
		if _, err := os.Stat(upTokenFile); err == nil {
			f.tokenFile = upTokenFile
		}
	}
	var token string
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("read --token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, fmt.Errorf("--token-file %s is empty", f.tokenFile)
		}
	}
	hc, err := f.tls.HTTPClient()
	if err != nil {
		return nil, err
	}
	c, err := client.New(f.server, token, hc)
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	return c, nil
}

// upTokenFile is where `berth up` writes the API token (its --data-dir).
const upTokenFile = ".berth/token"

// loopback reports whether the server URL names this machine.
func loopback(server string) bool {
	u, err := url.Parse(server)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(u.Hostname())
	return err == nil && ip.IsLoopback()
}

// request bounds one API call.
func (f *apiFlags) request(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.timeout)
}

// hint adds what an operator can do about an error the server returned.
func (f *apiFlags) hint(err error) error {
	switch {
	case client.Unauthorized(err) && f.tokenFile == "":
		return fmt.Errorf("%w\n(the server wants a token: pass --token-file or set BERTH_TOKEN_FILE)", err)
	case client.Unauthorized(err):
		return fmt.Errorf("%w\n(the token in %s is not the server's)", err, f.tokenFile)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w\n(is a berth server listening there? point --server or BERTH_SERVER at one)", err)
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable writes aligned columns as `kubectl get` does.
func newTable(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return tw
}

func row(tw *tabwriter.Writer, cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
		// A control character in a value (a tab or newline in a message,
		// say) would break the table.
		if strings.ContainsFunc(cells[i], unicode.IsControl) {
			cells[i] = strings.Map(func(r rune) rune {
				if unicode.IsControl(r) {
					return ' '
				}
				return r
			}, cells[i])
		}
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// age is a duration as kubectl shows it: 45s, 12m, 5h, 3d.
func age(since, now time.Time) string {
	if since.IsZero() {
		return "-"
	}
	d := now.Sub(since)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// short abbreviates a commit or version hash for tables.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// statusDoc is `berth status -o json`: the replica's view (GET /v1/status)
// and the reconciler's (GET /v1/sync) as one document. The reconciler's
// status is embedded whole, so whatever it reports (head, desired, rejected,
// converged, apps, ...) reaches scripts without this command knowing it.
type statusDoc struct {
	// Server is the replica that answered, Role its role.
	Server        string    `json:"server"`
	Role          string    `json:"role"`
	Leader        string    `json:"leader"`
	LeaderAddress string    `json:"leaderAddress,omitempty"`
	Term          int64     `json:"term,omitempty"`
	LeaderSince   time.Time `json:"leaderSince,omitzero"`
	// Commit is the commit the cluster is converged or converging to (the
	// reconciler's desired); head differs from it while head is rejected.
	Commit string `json:"commit"`
	reconciler.Status
	// Apps shadows the embedded list so that it is [] rather than absent.
	Apps   []reconciler.AppStatus `json:"apps"`
	Agents []server.Agent         `json:"agents"`
	// AgentCounts counts the agents (reachable, and which are not); the
	// text output shows only these, so it asks the server for them alone.
	AgentCounts *server.AgentCounts `json:"agentCounts,omitempty"`
	// Errors are the parts of the status that could not be read.
	Errors []string `json:"errors,omitempty"`
	// Warnings are the server's own (a state restored from backup).
	Warnings []string `json:"warnings,omitempty"`
}

func mergeStatus(srv server.Status, sync reconciler.Status) statusDoc {
	d := statusDoc{Server: srv.ID, Role: srv.Role, Leader: srv.Leader, LeaderAddress: srv.LeaderAddress, Term: srv.Term,
		LeaderSince: srv.LeaderSince, Commit: sync.Desired, Status: sync, Apps: sync.Apps, Agents: srv.Agents, Warnings: srv.Warnings,
		AgentCounts: srv.AgentCounts}
	if d.AgentCounts == nil {
		// A server from before the counts: count its list.
		c := server.AgentCounts{Registered: len(srv.Agents), Unreachable: []string{}}
		for _, a := range srv.Agents {
			if a.Reachable {
				c.Reachable++
			} else {
				c.Unreachable = append(c.Unreachable, a.ID)
			}
		}
		d.AgentCounts = &c
	}
	if d.Apps == nil {
		d.Apps = []reconciler.AppStatus{}
	}
	if d.Agents == nil {
		d.Agents = []server.Agent{}
	}
	return d
}

func newStatusCmd() *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the leader, the commit the cluster runs and every app's sync and health",
		Long: `status asks a berth server for the leader and the agents (GET /v1/status) and
for the reconciler's view (GET /v1/sync): the commit the cluster runs, a
rejected head commit with its errors, and every app's sync (Synced/OutOfSync)
and health (Healthy/Progressing/Degraded/Suspended). -o json prints both as
one document. The exit status is 1 when part of the status could not be read.
See docs/api.md.`,
		Example: `  berth status
  berth status --server http://10.0.0.5:8080 -o json | jq .apps`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ctx, cancel := f.request(cmd.Context())
			defer cancel()
			var errs []error
			// The text shows agents as counts: the server counts them from
			// two listings instead of reading every agent (5,000 at scale).
			// -o json keeps the list.
			status := c.StatusCounts
			if f.output == "json" {
				status = c.Status
			}
			srv, err := status(ctx)
			if err != nil {
				if srv.ID == "" {
					return f.hint(err)
				}
				errs = append(errs, err) // partial: print what the server could read
			}
			sync, err := c.SyncStatus(ctx)
			if err != nil {
				errs = append(errs, f.hint(err))
			}
			doc := mergeStatus(srv, sync)
			for _, e := range errs {
				doc.Errors = append(doc.Errors, e.Error())
			}
			if f.output == "json" {
				if err := writeJSON(cmd.OutOrStdout(), doc); err != nil {
					return err
				}
			} else {
				renderStatus(cmd.OutOrStdout(), doc, time.Now())
			}
			if err := errors.Join(errs...); err != nil {
				return &exitError{code: 1, msg: "berth status: incomplete: " + err.Error()}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// renderStatus prints the status for people: a header of key facts, then
// the apps as a table.
func renderStatus(w io.Writer, d statusDoc, now time.Time) {
	kv := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(kv, "Server:\t%s (%s)\n", d.Server, d.Role)
	switch {
	case d.Leader == "":
		fmt.Fprintf(kv, "Leader:\tnone (no replica leads: nothing is reconciled)\n")
	default:
		leader := d.Leader
		if d.LeaderAddress != "" {
			leader += " at " + d.LeaderAddress
		}
		if d.Term != 0 {
			leader += fmt.Sprintf(", term %d", d.Term)
		}
		if !d.LeaderSince.IsZero() {
			leader += ", for " + age(d.LeaderSince, now)
		}
		fmt.Fprintf(kv, "Leader:\t%s\n", leader)
	}
	commit := short(d.Commit)
	switch {
	case d.Commit == "" && d.Head == "":
		commit = "none loaded yet"
	case d.Commit == "":
		commit = "none (no valid commit yet)"
	case d.Head != "" && d.Head != d.Commit:
		commit += " (head " + short(d.Head) + ")"
	}
	fmt.Fprintf(kv, "Commit:\t%s\n", commit)
	for _, w := range d.Warnings {
		fmt.Fprintf(kv, "Warning:\t%s\n", w)
	}
	if r := d.Rejected; r != nil {
		fmt.Fprintf(kv, "Rejected:\t%s (%s ago); the cluster stays on the last good commit:\n", short(r.Commit), age(r.Since, now))
		for _, e := range r.Errors {
			fmt.Fprintf(kv, "\t  %s\n", e)
		}
	}
	converged := "no"
	if d.Converged {
		converged = "yes"
	}
	fmt.Fprintf(kv, "Converged:\t%s\n", converged)
	if !d.LastSync.IsZero() {
		fmt.Fprintf(kv, "Last sync:\t%s ago\n", age(d.LastSync, now))
	}
	if d.LastError != "" {
		fmt.Fprintf(kv, "Last error:\t%s\n", d.LastError)
	}
	var counts server.AgentCounts
	if d.AgentCounts != nil {
		counts = *d.AgentCounts
	}
	agents := fmt.Sprintf("%d reachable", counts.Reachable)
	if lost := slices.Sorted(slices.Values(counts.Unreachable)); len(lost) > 0 {
		const shown = 20 // thousands of names would bury the rest
		more := ""
		if len(lost) > shown {
			lost, more = lost[:shown], fmt.Sprintf(", and %d more", len(lost)-shown)
		}
		agents += fmt.Sprintf(", %d unreachable (%s%s)", counts.Registered-counts.Reachable, strings.Join(lost, ", "), more)
	}
	fmt.Fprintf(kv, "Agents:\t%s\n", agents)
	if len(d.Orphans) > 0 {
		fmt.Fprintf(kv, "Orphans:\t%s (tasks of apps no manifest declares)\n", strings.Join(d.Orphans, ", "))
	}
	kv.Flush()
	if len(d.Apps) > 0 {
		fmt.Fprintln(w)
		renderApps(w, d.Apps)
	}
	if len(d.Jobs) > 0 {
		fmt.Fprintln(w)
		renderStatusJobs(w, d.Jobs, now)
	}
}

// renderStatusJobs prints the Chronos-style jobs: when each runs next and how its
// last run went.
func renderStatusJobs(w io.Writer, jobs []decide.JobOutcome, now time.Time) {
	tw := newTable(w, "JOB", "SCHEDULE", "NEXT", "LAST", "SUCCESS", "ERRORS", "MESSAGE")
	for _, j := range jobs {
		sched := j.Schedule
		if len(j.Parents) > 0 {
			sched = "after " + strings.Join(j.Parents, ",")
		}
		next := "-"
		switch {
		case j.Disabled:
			next = "disabled"
		case !j.Next.IsZero() && j.Next.After(now):
			next = "in " + age(now, j.Next)
		case !j.Next.IsZero():
			next = "due"
		}
		row(tw, j.Name, sched, next, j.LastState, strconv.Itoa(j.SuccessCount), strconv.Itoa(j.ErrorCount), j.Message)
	}
	tw.Flush()
}
