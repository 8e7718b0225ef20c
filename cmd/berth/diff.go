package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/manifests"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/reconciler/plan"
	"github.com/berthops/berth/reconciler/preview"
	"github.com/berthops/berth/templates"
	"github.com/berthops/berth/templates/consulsource"
)

// diffFlags are `berth diff`'s options.
type diffFlags struct {
	repo, base, head, path string
	observed, server       string
	tokenFile              string
	format                 string
	exitCode               bool
	validate               bool
	cacheDir               string
	noParseCache           bool
	sshKey, knownHosts     string
	trustedKeys            []string
	tls                    client.TLSFiles
	nextRuns               int
	now                    string
	consul                 consulFlags
}

func newDiffCmd() *cobra.Command {
	var f diffFlags
	cmd := &cobra.Command{
		Use:   "diff --base REF [--head REF] | --observed FILE | --server URL",
		Short: "Show what a commit would change: against another commit (PR review) or the live cluster",
		Long: `diff loads the manifests of the head commit (default HEAD) and compares them
with the base commit (--base, offline: no cluster needed), or with live state
(--observed FILE, the cluster's state as JSON, or --server URL, a running
berth server: the head is read from --repo here, so a branch that was never
pushed can be checked, and the plan also says whether the new tasks fit on
the cluster's agents). The plan lists every create, update (scale, restart
or config) and delete in deployment order.

--repo is a local repository or a remote URL (file://, http(s)://, ssh://,
user@host:path); remotes are cloned into --cache-dir and fetched incrementally.
Parsed manifests are kept under the cache directory too (manifests/), keyed by
file contents, so a diff only parses the files that changed since an earlier
run; --no-parse-cache turns this off.
HTTP credentials come from $BERTH_GIT_TOKEN, or $BERTH_GIT_USERNAME and
$BERTH_GIT_PASSWORD; SSH uses --ssh-key and --known-hosts
($BERTH_GIT_SSH_PASSPHRASE decrypts the key).

Each commit's signature is shown in the header: unsigned, a good signature
by a key of --trusted-keys (the files a server's --trusted-keys names), a
bad one, one by an untrusted key, or unchecked without --trusted-keys.

With a cluster (--observed with agents, or --server) the plan also says whether
the change fits, its blast radius on each app, and every rendered template file
that changes, as a diff (--validate checks each with its validate command).

Formats: text (coloured on a terminal), markdown (a pull-request comment),
json (schema in docs/diff-json.md). With --exit-code the status is 0 for no
changes, 2 for changes, 3 for changes that do not fit the cluster given
(--observed or --server) and 1 for an error; invalid manifests are printed as
berth validate prints them and exit 1.

Every job that is added or whose schedule changes gets a schedule preview:
its next --next-runs runs (0 turns previews off) before and after, in its
zone and in UTC, warnings (DST gap or overlap, a day some months lack, a
repeat count already used up) and the runs a deploy would start at once.
They are seen from --now (RFC 3339; default the current time), which makes
the output reproducible.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDiff(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", ".", "repository: a local path or a remote URL")
	fl.StringVar(&f.base, "base", "", "base branch, tag or commit to compare against (offline diff)")
	fl.StringVar(&f.head, "head", "HEAD", "head branch, tag or commit whose manifests are desired")
	fl.StringVar(&f.path, "path", "", "directory inside the repository that holds the manifests")
	fl.StringVar(&f.observed, "observed", "", "live cluster state as a JSON file, instead of --base")
	fl.StringVar(&f.server, "server", "", "berth server URL to read live state from, instead of --base")
	fl.StringVar(&f.tokenFile, "token-file", os.Getenv("BERTH_TOKEN_FILE"), "token for --server, which /v1/observed always needs (env BERTH_TOKEN_FILE; default .berth/token of berth up for a server on this machine)")
	registerClientTLS(fl, &f.tls)
	fl.StringVar(&f.format, "format", "text", "output format: text, markdown or json")
	fl.BoolVar(&f.exitCode, "exit-code", false, "exit 2 when there are changes (3 when they do not fit the cluster given), 0 when there are none")
	fl.StringVar(&f.consul.addr, "consul", "", "with a cluster (--observed, --server): render template previews against this live Consul agent's catalog (its KV, nodes and other services too), with the change's own instances swapped in")
	f.consul.register(fl)
	fl.BoolVar(&f.validate, "validate", false, "with a cluster (--observed, --server): run each changed template's validate command on its rendered preview")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "where remote repositories are cloned and parsed manifests kept (default ~/.cache/berth/git and ~/.cache/berth/manifests)")
	fl.BoolVar(&f.noParseCache, "no-parse-cache", false, "do not read or save parsed manifests under the cache directory")
	fl.IntVar(&f.nextRuns, "next-runs", plan.DefaultNextRuns, "runs listed per job in schedule previews (0: no previews)")
	fl.StringVar(&f.now, "now", "", "the moment schedule previews are seen from, RFC 3339 (default the current time)")
	fl.StringVar(&f.sshKey, "ssh-key", "", "private key for SSH remotes")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file pinning SSH remotes' host keys (default ~/.ssh/known_hosts)")
	fl.StringArrayVar(&f.trustedKeys, "trusted-keys", nil, "check commit signatures against these keys: armored OpenPGP public keys or an SSH allowed_signers file; repeat for more files")
	return cmd
}

func runDiff(ctx context.Context, stdout, stderr io.Writer, f diffFlags) error {
	// A diff is a short batch job that parses two commits and exits: GC at a
	// quarter of the default frequency saves about a quarter of its CPU,
	// with a soft memory limit so a huge repository still collects. An
	// operator's own GOGC or GOMEMLIMIT wins.
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(400))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(1 << 30))
	}
	switch f.format {
	case "text", "markdown", "json":
	default:
		return fmt.Errorf("diff: --format %q: want text, markdown or json", f.format)
	}
	if f.observed != "" && f.server != "" {
		return errors.New("diff: give at most one of --observed FILE and --server URL (the live cluster to check the change on)")
	}
	if f.base == "" && f.observed == "" && f.server == "" {
		return errors.New("diff: give --base REF (compare two commits), --observed FILE or --server URL (compare with the live cluster), or --base with one of the others (compare two commits and check the change on the cluster)")
	}
	if f.nextRuns < 0 || f.nextRuns > 100 {
		return fmt.Errorf("diff: --next-runs %d: want 0 (no schedule previews) to 100", f.nextRuns)
	}
	now := time.Now()
	if f.now != "" {
		t, err := time.Parse(time.RFC3339, f.now)
		if err != nil {
			return fmt.Errorf("diff: --now %q: want an RFC 3339 time such as 2026-03-08T10:00:00Z", f.now)
		}
		now = t
	}
	dir, err := gitsource.CleanPath(f.path)
	if err != nil {
		return fmt.Errorf("diff: --path: %w", err)
	}

	var keys *gitsource.TrustedKeys
	if len(f.trustedKeys) > 0 {
		if keys, err = gitsource.LoadTrustedKeys(f.trustedKeys...); err != nil {
			return fmt.Errorf("diff: --trusted-keys: %w", err)
		}
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src, err := gitsource.Open(ctx, gitsource.Options{
		URL:      f.repo,
		CacheDir: f.cacheDir,
		Auth:     gitAuth(f.sshKey, f.knownHosts),
		Logger:   logger,
	})
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	defer src.Close()
	head, err := src.Resolve(f.head)
	if err != nil {
		return fmt.Errorf("diff: --head: %w", err)
	}
	hdr := plan.Header{Head: plan.Revision{Ref: f.head, Commit: head}}
	if hdr.Head.Signature, err = reconciler.SignatureOf(src, head, keys); err != nil {
		return fmt.Errorf("diff: --head: %w", err)
	}
	if dir != "." {
		hdr.Path = dir
	}

	// Even without a file to keep it in, one cache serves both commits: the
	// files a change did not touch are parsed once, not twice.
	cache := manifests.NewParseCache()
	cachePath := ""
	if !f.noParseCache {
		cachePath = parseCachePath(f.cacheDir, f.repo, dir)
		readParseCache(cache, cachePath, logger)
	}
	defer saveParseCache(cache, cachePath, logger)

	// The cluster, when one is given: a snapshot file or a live server's
	// GET /v1/observed, the same form. The fit verdict comes from the
	// server's own decision engine, played forward on it.
	var snap *decide.Snapshot
	switch {
	case f.server != "":
		if snap, err = readLive(ctx, f.server, f.tokenFile, f.tls); err != nil {
			return fmt.Errorf("diff: --server: %w", err)
		}
		hdr.Base = plan.Revision{Ref: "live " + f.server, Commit: snap.Commit}
	case f.observed != "":
		data, err := os.ReadFile(f.observed)
		if err != nil {
			return fmt.Errorf("diff: --observed: %w", err)
		}
		s, err := decide.ReadSnapshot(f.observed, data)
		if err != nil {
			return fmt.Errorf("diff: --observed: %w", err)
		}
		snap = &s
		hdr.Base = plan.Revision{Ref: "observed " + f.observed, Commit: s.Commit}
	}

	var desired *manifests.Set
	var observed plan.Observed
	if snap != nil {
		observed = snap.Observed
	}
	base := ""
	if f.base != "" {
		if base, err = src.Resolve(f.base); err != nil {
			return fmt.Errorf("diff: --base: %w", err)
		}
		hdr.Base = plan.Revision{Ref: f.base, Commit: base}
		if hdr.Base.Signature, err = reconciler.SignatureOf(src, base, keys); err != nil {
			return fmt.Errorf("diff: --base: %w", err)
		}
	}
	if keys == nil && !signed(hdr.Base) && !signed(hdr.Head) {
		// Nothing to say about a repository that signs nothing, unless the
		// reviewer asked (--trusted-keys): then "unsigned" is the news.
		hdr.Base.Signature, hdr.Head.Signature = nil, nil
	}
	if base != "" {
		desired, observed.Applied, err = loadPair(ctx, src, cache, base, head, dir)
		if err != nil {
			var side loadSideError
			if errors.As(err, &side) {
				return reportLoadError(stdout, f.format, hdr, side.side, side.err)
			}
			return fmt.Errorf("diff: %w", err)
		}
	} else if desired, err = loadCommit(src, cache, head, dir); err != nil {
		return reportLoadError(stdout, f.format, hdr, "head", err)
	}

	p := plan.Compute(desired, observed)
	if f.nextRuns > 0 {
		plan.AddSchedulePreviews(p, desired, observed.Applied, plan.PreviewOptions{Now: now, NextRuns: f.nextRuns})
	}
	if snap != nil && snap.HasCluster() {
		v := decide.Simulate(snap.Input(desired), decide.Options{Prune: true}, 0)
		p.Fit = v.Fit()
		// The rendered files that change, from the snapshot's catalog
		// before and the played-forward cluster's after.
		opts := preview.Options{Validate: f.validate}
		before := preview.Catalog(preview.Cluster{Agents: snap.Agents, Tasks: snap.Tasks}, opts)
		after := preview.Catalog(preview.Cluster{Agents: v.End.Agents, Tasks: v.End.Tasks}, opts)
		if f.consul.addr != "" && (len(desired.Templates) > 0 || (observed.Applied != nil && len(observed.Applied.Templates) > 0)) {
			// Consul's catalog holds what Berth's snapshot cannot: KV
			// keys, nodes, services Berth does not run. Render against it
			// now, and against it with the change's instances swapped in.
			live, err := readConsulCatalog(ctx, f.consul)
			if err != nil {
				return fmt.Errorf("diff: --consul: %w", err)
			}
			before, after = live, preview.Overlay(live, before, after)
		}
		p.Templates = preview.Templates(ctx, observed.Applied, desired, before, after, opts)
	} else if f.consul.addr != "" {
		return errors.New("diff: --consul previews templates on a cluster: give it with --observed FILE or --server URL")
	}
	switch f.format {
	case "json":
		err = plan.WriteJSON(stdout, p, hdr)
	case "markdown":
		err = plan.WriteMarkdown(stdout, p, hdr)
	default:
		err = plan.WriteText(stdout, p, hdr, plan.TextOptions{Color: colorFor(stdout)})
	}
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	if f.exitCode && p.Fit != nil && !p.Fit.Fits {
		return &exitError{code: 3} // a PR check fails on it
	}
	if f.exitCode && !p.Empty() {
		return &exitError{code: 2}
	}
	return nil
}

func signed(r plan.Revision) bool {
	return r.Signature != nil && r.Signature.State != string(gitsource.Unsigned)
}

// readLive reads a running server's cluster snapshot (GET /v1/observed).
func readLive(ctx context.Context, server, tokenFile string, tlsFiles client.TLSFiles) (*decide.Snapshot, error) {
	if tokenFile == "" && loopback(server) {
		// /v1/observed always needs the token; `berth up` keeps it here.
		if _, err := os.Stat(upTokenFile); err == nil {
			tokenFile = upTokenFile
		}
	}
	token, err := readSecret(tokenFile, "--token-file")
	if err != nil {
		return nil, err
	}
	hc, err := tlsFiles.HTTPClient()
	if err != nil {
		return nil, err
	}
	c, err := client.New(server, token, hc)
	if err != nil {
		return nil, err
	}
	data, _, err := c.Observed(ctx)
	if err != nil {
		return nil, err
	}
	s, err := decide.ReadSnapshot(server+"/v1/observed", data)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// loadSideError says which commit's manifests failed to load.
type loadSideError struct {
	side string
	err  error
}

func (e loadSideError) Error() string { return e.side + ": " + e.err.Error() }
func (e loadSideError) Unwrap() error { return e.err }

// loadPair loads both commits' manifests. When the manifest
// trees are identical it loads once: same tree, same set.
func loadPair(ctx context.Context, src *gitsource.Source, cache *manifests.ParseCache, base, head, dir string) (desired, applied *manifests.Set, err error) {
	if _, err := src.Tree(base, dir); errors.Is(err, gitsource.ErrPathNotFound) {
		// The base predates the manifest directory: everything is new.
		desired, err := loadCommit(src, cache, head, dir)
		if err != nil {
			return nil, nil, loadSideError{"head", err}
		}
		return desired, nil, nil
	}
	changed, err := src.Changed(ctx, base, head, dir)
	if err != nil {
		return nil, nil, err
	}
	if len(changed) == 0 {
		s, err := loadCommit(src, cache, head, dir)
		if err != nil {
			return nil, nil, loadSideError{"head", err}
		}
		return s, s, nil
	}
	// One after the other, not in parallel: the head's load fills the parse
	// cache, so the base's parses only the files the change touched (each
	// load already parses on every core).
	if desired, err = loadCommit(src, cache, head, dir); err != nil {
		return nil, nil, loadSideError{"head", err}
	}
	if applied, err = loadCommit(src, cache, base, dir); err != nil {
		return nil, nil, loadSideError{"base", err}
	}
	return desired, applied, nil
}

// parseCachePath is the file that keeps parsed manifests between runs: one
// per repository and manifest directory, so diffs of different repositories
// sharing a cache directory do not evict each other's entries. It is "" when
// no cache directory can be found.
func parseCachePath(cacheDir, repo, dir string) string {
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		cacheDir = filepath.Join(base, "berth")
	}
	if _, err := os.Stat(repo); err == nil {
		if abs, err := filepath.Abs(repo); err == nil {
			repo = abs
		}
	}
	sum := sha256.Sum256([]byte(repo + "\x00" + dir))
	return filepath.Join(cacheDir, "manifests", hex.EncodeToString(sum[:12])+".cache")
}

// readParseCache fills cache from path. A missing, unreadable or damaged
// file only costs parsing time, so it is logged, never fatal.
func readParseCache(cache *manifests.ParseCache, path string, logger *slog.Logger) {
	if path == "" {
		return
	}
	file, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err == nil {
		_, err = cache.ReadFrom(file)
		file.Close()
	}
	if err != nil {
		logger.Warn("ignoring the parse cache", "file", path, "err", err)
	}
}

// saveParseCache writes cache to path when it learnt something, through a
// temporary file renamed into place, so a concurrent reader or a crash never
// sees half a file (and would reject it by its checksum if it did).
func saveParseCache(cache *manifests.ParseCache, path string, logger *slog.Logger) {
	if path == "" || !cache.Dirty() {
		return
	}
	err := func() error {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(path), ".parse-*.tmp")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name()) // fails harmlessly once renamed
		if _, err := cache.WriteTo(tmp); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), path)
	}()
	if err != nil {
		logger.Warn("cannot save the parse cache", "file", path, "err", err)
	}
}

// loadCommit loads a commit's manifests as the server does, with file
// names from the repository root.
func loadCommit(src *gitsource.Source, cache *manifests.ParseCache, commit, dir string) (*manifests.Set, error) {
	return reconciler.LoadCommit(reconciler.GitTrees(src), cache, commit, dir)
}

// reportLoadError prints invalid manifests the way berth validate does (in
// the chosen format, so a PR comment shows them too) and exits 1.
func reportLoadError(stdout io.Writer, format string, hdr plan.Header, side string, err error) error {
	var list manifests.ErrorList
	if !errors.As(err, &list) {
		return fmt.Errorf("diff: load %s manifests: %w", side, err)
	}
	rev := hdr.Head
	if side == "base" {
		rev = hdr.Base
	}
	switch format {
	case "json":
		type jsonError struct {
			File    string `json:"file"`
			Line    int    `json:"line,omitempty"`
			Col     int    `json:"col,omitempty"`
			Field   string `json:"field,omitempty"`
			Message string `json:"message"`
		}
		out := struct {
			SchemaVersion int           `json:"schemaVersion"`
			Base          plan.Revision `json:"base"`
			Head          plan.Revision `json:"head"`
			Path          string        `json:"path,omitempty"`
			Invalid       string        `json:"invalid"`
			Errors        []jsonError   `json:"errors"`
		}{SchemaVersion: plan.SchemaVersion, Base: hdr.Base, Head: hdr.Head, Path: hdr.Path, Invalid: side}
		for _, e := range list {
			out.Errors = append(out.Errors, jsonError{e.File, e.Line, e.Col, e.Field, e.Message})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if werr := enc.Encode(out); werr != nil {
			return fmt.Errorf("diff: %w", werr)
		}
	case "markdown":
		fmt.Fprintf(stdout, "### Berth plan: the %s manifests (%s) are invalid\n\n```\n%s\n```\n",
			side, strings.ReplaceAll(rev.String(), "`", "'"), strings.ReplaceAll(list.Error(), "```", "'''"))
	default:
		fmt.Fprintln(stdout, list.Error())
	}
	return &exitError{code: 1, msg: fmt.Sprintf("berth diff: the %s manifests (%s) are invalid: %d errors", side, rev, len(list))}
}

// colorFor reports whether text output should be coloured: only on a
// terminal, and never when NO_COLOR is set (https://no-color.org).
func colorFor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// readConsulCatalog reads a Consul agent's whole catalog once.
func readConsulCatalog(ctx context.Context, c consulFlags) (*templates.CatalogData, error) {
	client, err := c.client()
	if err != nil {
		return nil, err
	}
	return consulsource.Catalog(ctx, client)
}
