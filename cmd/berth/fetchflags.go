package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/agent/fetch"
)

// fetchFlags place an agent's task sandboxes and configure its artifact
// fetcher (docs/agent.md, "Sandboxes and artifacts").
type fetchFlags struct {
	sandboxDir, cacheDir    string
	maxSizeMB, maxExtracted int64
	timeout                 time.Duration
}

func (f *fetchFlags) register(fs *pflag.FlagSet, sandboxDir, cacheDir string) {
	fs.StringVar(&f.sandboxDir, "sandbox-dir", sandboxDir, "where task sandboxes are made (one directory per agent id, one per task below it)")
	fs.StringVar(&f.cacheDir, "fetch-cache", cacheDir, "cache of artifacts fetched with cache: true, shared by the tasks of this node")
	fs.Int64Var(&f.maxSizeMB, "fetch-max-size", fetch.DefaultMaxBytes>>20, "largest artifact download, in MiB")
	fs.Int64Var(&f.maxExtracted, "fetch-max-extracted", fetch.DefaultMaxExtractedBytes>>20, "most one archive may unpack to, in MiB")
	fs.DurationVar(&f.timeout, "fetch-timeout", fetch.DefaultTimeout, "time limit for fetching (and extracting) one artifact")
}

// apply sets the sandbox directory and the fetcher of an agent's config.
// Paths are made absolute: Docker binds sandboxes by their host path.
func (f fetchFlags) apply(cfg *agent.Config, agentID string) error {
	if f.maxSizeMB <= 0 || f.maxExtracted <= 0 || f.timeout <= 0 {
		return fmt.Errorf("--fetch-max-size, --fetch-max-extracted and --fetch-timeout must be positive")
	}
	sandboxes, err := filepath.Abs(filepath.Join(f.sandboxDir, agentID))
	if err != nil {
		return fmt.Errorf("--sandbox-dir: %w", err)
	}
	cache, err := filepath.Abs(f.cacheDir)
	if err != nil {
		return fmt.Errorf("--fetch-cache: %w", err)
	}
	fetcher, err := fetch.New(fetch.Options{CacheDir: cache, MaxBytes: f.maxSizeMB << 20, MaxExtractedBytes: f.maxExtracted << 20, Timeout: f.timeout})
	if err != nil {
		return err
	}
	cfg.SandboxDir, cfg.Fetcher = sandboxes, fetcher
	return nil
}
