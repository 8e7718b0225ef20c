package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/httpapi"
	"github.com/berthops/berth/metrics"
	"github.com/berthops/berth/reconciler"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/reconciler/gitsource"
	"github.com/berthops/berth/reconciler/plan"
	"github.com/berthops/berth/server"
	"github.com/berthops/berth/taskindex"
	"github.com/berthops/berth/ui"
)

// controlFlags configure the reconcile loop and its API, the same for
// `berth server` and `berth up`.
type controlFlags struct {
	repo, branch, path, cacheDir string
	poll, resync                 time.Duration
	cacheResync                  time.Duration
	coldStandby                  bool
	prune, protectReads          bool
	tokenFile, webhookSecretFile string
	sshKey, knownHosts           string
	shellImage                   string
	// trustedKeys, when given, restrict the cluster to signed commits.
	trustedKeys []string
	// tls serves the API over HTTPS (and forwards to the leader over it).
	tls server.TLSFiles
	// limits and maxStreams bound what clients can hold on the API.
	limits     server.Limits
	maxStreams int
	// agentLogsTokenFile is berth server --agent-logs-token-file.
	agentLogsTokenFile string
	// ageIdentity is the servers' age identity file: it opens the
	// repository's Secrets.
	ageIdentity string
}

func (c *controlFlags) register(f *pflag.FlagSet, defaultPoll time.Duration) {
	f.StringVar(&c.repo, "repo", "", "Git repository of manifests: a local path or a remote URL (file://, http(s)://, ssh://)")
	f.StringVar(&c.branch, "branch", "HEAD", "branch (or tag) whose head the cluster follows")
	f.StringVar(&c.path, "path", "", "directory inside the repository that holds the manifests")
	f.StringVar(&c.cacheDir, "cache-dir", "", "where remote repositories are cloned (default ~/.cache/berth/git)")
	f.DurationVar(&c.poll, "poll", defaultPoll, "how often the branch is fetched (webhooks sync at once)")
	f.DurationVar(&c.resync, "resync", time.Second, "how often the cluster is re-read and repaired without any change")
	f.DurationVar(&c.cacheResync, "cache-resync", 5*time.Minute, "how often the leader re-reads the whole cluster state into its watch-driven cache and counts what the watches missed (berth_cache_drift_total)")
	f.BoolVar(&c.coldStandby, "cold-standby", false, "keep no cache of the cluster state while following: less memory per standby replica, but a new leader reads the whole cluster before its first pass (docs/production.md#failover)")
	f.BoolVar(&c.prune, "prune", true, "stop apps removed from the repository (false: only report them)")
	f.StringVar(&c.tokenFile, "token-file", "", "file holding the bearer token write endpoints require")
	f.BoolVar(&c.protectReads, "protect-reads", false, "require the token for reads too")
	f.StringVar(&c.webhookSecretFile, "webhook-secret-file", "", "file holding the secret push webhooks are verified with")
	f.StringVar(&c.sshKey, "ssh-key", "", "private key for SSH remotes")
	f.StringVar(&c.knownHosts, "known-hosts", "", "known_hosts file pinning SSH remotes' host keys")
	f.StringArrayVar(&c.trustedKeys, "trusted-keys", nil, "apply only commits signed by these keys: a file of armored OpenPGP public keys (gpg --armor --export) or an SSH allowed_signers file (ssh-keygen -Y verify); repeat for more files")
	f.StringVar(&c.shellImage, "shell-image", decide.DefaultShellImage, "image that runs a cmd for apps and jobs that name no image")
	f.StringVar(&c.tls.Cert, "tls-cert", "", "PEM certificate (chain) to serve the API over HTTPS with")
	f.StringVar(&c.tls.Key, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&c.tls.ClientCA, "tls-client-ca", "", "PEM CA certificates: require clients (and other replicas) to present a certificate they signed")
	f.DurationVar(&c.limits.ReadHeaderTimeout, "http-read-header-timeout", 10*time.Second, "API: longest a client may take to send a request's headers")
	f.DurationVar(&c.limits.ReadTimeout, "http-read-timeout", 30*time.Second, "API: longest a client may take to send a whole request")
	f.DurationVar(&c.limits.WriteTimeout, "http-write-timeout", 60*time.Second, "API: longest an answer may take to write (event streams set their own per-write deadlines)")
	f.DurationVar(&c.limits.IdleTimeout, "http-idle-timeout", 120*time.Second, "API: idle keep-alive connections are closed after this")
	f.IntVar(&c.limits.MaxConns, "http-max-conns", server.DefaultMaxConns, "API: open connections at most; past it a new one is answered 503")
	f.IntVar(&c.maxStreams, "http-max-streams", httpapi.DefaultMaxStreams, "API: concurrent GET /v1/events streams at most; past it 503")
	f.StringVar(&c.ageIdentity, "age-identity", "", "age identity file (age-keygen) that decrypts the repository's Secrets; its public key must be among their recipients (docs/security.md#secrets)")
	f.StringVar(&c.tls.PeerCA, "tls-ca", "", "PEM CA certificates that sign the other replicas' certificates, for forwarding to the leader (default: the system's)")
}

// checkLimits refuses HTTP limits that would leave the API unbounded or
// unusable, naming the flag. Zero takes the default (server.Limits), so no
// flag can switch a timeout off.
func (c *controlFlags) checkLimits() error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--http-read-header-timeout", c.limits.ReadHeaderTimeout}, {"--http-read-timeout", c.limits.ReadTimeout},
		{"--http-write-timeout", c.limits.WriteTimeout}, {"--http-idle-timeout", c.limits.IdleTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("%s %s: want a positive duration (0 takes the default)", d.flag, d.v)
		}
	}
	if c.limits.MaxConns < 0 {
		return fmt.Errorf("--http-max-conns %d: want a positive number (0 takes the default, 1024)", c.limits.MaxConns)
	}
	conns, streams := c.limits.MaxConns, c.maxStreams
	if conns == 0 {
		conns = server.DefaultMaxConns
	}
	if streams == 0 {
		streams = httpapi.DefaultMaxStreams
	}
	if streams < 0 || streams >= conns {
		return fmt.Errorf("--http-max-streams %d: want a positive number below --http-max-conns (%d), so event streams cannot take every connection", c.maxStreams, conns)
	}
	return nil
}

// gitAuth takes HTTP credentials from the environment (never from flags, so
// they stay out of process listings) and SSH settings from flags.
func gitAuth(sshKey, knownHosts string) gitsource.Auth {
	return gitsource.Auth{
		Token:            os.Getenv("BERTH_GIT_TOKEN"),
		Username:         os.Getenv("BERTH_GIT_USERNAME"),
		Password:         os.Getenv("BERTH_GIT_PASSWORD"),
		SSHKeyFile:       sshKey,
		SSHKeyPassphrase: os.Getenv("BERTH_GIT_SSH_PASSPHRASE"),
		KnownHostsFile:   knownHosts,
	}
}

// readSecret reads a one-line secret file.
func readSecret(file, what string) (string, error) {
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s %s is empty", what, file)
	}
	return s, nil
}

// ensureToken returns the token in file, creating the file with a random
// token (mode 0600) when it does not exist: `berth up` works out of the box
// and the CLI finds the token in the data directory.
func ensureToken(file string) (string, error) {
	if tok, err := readSecret(file, "token file"); err == nil {
		return tok, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make a token: %w", err)
	}
	tok := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", filepath.Dir(file), err)
	}
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write token file: %w", err)
	}
	return tok, nil
}

// controlPlane is the reconciler with what serves it.
type controlPlane struct {
	rec     *reconciler.Reconciler
	state   *cluster.State
	api     httpapi.Options
	metrics *prometheus.Registry
	flags   controlFlags
}

// newControlPlane opens the repository and builds the reconciler; mount
// adds its routes once the server exists.
func newControlPlane(ctx context.Context, logger *slog.Logger, store cluster.Store, c controlFlags) (*controlPlane, error) {
	if c.repo == "" {
		return nil, errors.New("--repo is required: the Git repository of manifests (a path or URL)")
	}
	token, err := readSecret(c.tokenFile, "--token-file")
	if err != nil {
		return nil, err
	}
	secret, err := readSecret(c.webhookSecretFile, "--webhook-secret-file")
	if err != nil {
		return nil, err
	}
	if _, err := gitsource.CleanPath(c.path); err != nil {
		return nil, fmt.Errorf("--path: %w", err)
	}
	src, err := reconciler.OpenGit(ctx, gitsource.Options{URL: c.repo, CacheDir: c.cacheDir, Auth: gitAuth(c.sshKey, c.knownHosts), Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("--repo %s: %w", gitsource.Redact(c.repo), err)
	}
	var verify func(string) error
	var signatures func(string) (*plan.Signature, error)
	if len(c.trustedKeys) > 0 {
		keys, err := gitsource.LoadTrustedKeys(c.trustedKeys...)
		if err != nil {
			return nil, fmt.Errorf("--trusted-keys: %w", err)
		}
		verify, signatures = reconciler.RequireSigned(src, keys), reconciler.DescribeSignatures(src, keys)
		logger.Info("applying only commits signed by a trusted key", "trusted-keys", c.trustedKeys)
	} else {
		logger.Info("no --trusted-keys: every commit on the branch is applied, signed or not")
	}
	ageID, err := loadServerIdentity(c.ageIdentity, logger)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	state := cluster.NewState(store)
	index := &taskindex.Index{}
	rec := reconciler.New(reconciler.Config{
		Branch: c.branch, Path: c.path, Poll: c.poll, Resync: c.resync, CacheResync: c.cacheResync, ColdStandby: c.coldStandby, Logger: logger, Observer: taskindex.Feed(index, metrics.New(reg)), Verify: verify, Signatures: signatures,
		SecretIdentity: ageID,
		Pass:           decide.Options{Prune: c.prune, Spec: decide.SpecOptions{ShellImage: c.shellImage}},
	}, src, state)
	if token == "" {
		logger.Warn("no --token-file: every write endpoint (sync, job runs) is refused")
	}
	if secret == "" {
		logger.Warn("no --webhook-secret-file: push webhooks are refused; the branch is polled", "poll", c.poll)
	}
	return &controlPlane{rec: rec, state: state, metrics: reg, flags: c,
		api: httpapi.Options{Token: token, ProtectReads: c.protectReads, WebhookSecret: secret, Logger: logger, MaxStreams: c.maxStreams, Index: index}}, nil
}

// mount adds the reconciler's routes, /metrics, the Marathon and Chronos
// dialects and the web UI (at /ui/, and / redirects there) to srv. Endpoints
// only the leader can answer are proxied to it from followers, through peers
// (nil: plain HTTP), marked with a header signed with the API token.
func (cp *controlPlane) mount(srv *server.Server, peers http.RoundTripper) {
	api := cp.api
	api.Forward = srv.Forwarder(server.ForwardOptions{Key: cp.api.Token, Transport: peers})
	for pattern, h := range httpapi.Routes(cp.rec, cp.state, api) {
		srv.Handle(pattern, h)
	}
	srv.Handle("GET /metrics", promhttp.HandlerFor(cp.metrics, promhttp.HandlerOpts{}))
	for pattern, h := range cp.dialectRoutes(srv, api) {
		srv.Handle(pattern, h)
	}
	srv.Handle("GET "+ui.Prefix, ui.Handler())
	srv.Handle("GET /{$}", http.RedirectHandler(ui.Prefix, http.StatusFound))
}
