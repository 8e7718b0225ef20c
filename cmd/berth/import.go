package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/berthops/berth/manifests"
	"github.com/spf13/cobra"
)

func newImportCmd() *cobra.Command {
	var outDir string
	cmd := &cobra.Command{
		Use:   "import marathon|chronos FILE...|- -o DIR",
		Short: "Turn Marathon apps or Chronos jobs (JSON, or API responses) into manifests",
		Long: `import reads Marathon app or group JSON (also a /v2/apps or /v2/groups
response) or Chronos job JSON (also a /v1/scheduler/jobs response) from each
FILE, or from stdin for "-", and writes one YAML manifest per app or job into
DIR: apps/<id>.yaml and jobs/<name>.yaml. Status fields in API responses are
dropped; unsupported features are reported with their file and line and
nothing is written.`,
		Args:      cobra.MinimumNArgs(2),
		ValidArgs: []string{string(manifests.SourceMarathon), string(manifests.SourceChronos)},
		RunE: func(cmd *cobra.Command, args []string) error {
			src := manifests.Source(args[0])
			if src != manifests.SourceMarathon && src != manifests.SourceChronos {
				return fmt.Errorf("import: unknown source %q: expected marathon or chronos", args[0])
			}
			if outDir == "" {
				return errors.New("import: -o DIR is required")
			}
			all := map[string][]byte{}
			failed := false
			for _, name := range args[1:] {
				data, err := readInput(cmd.InOrStdin(), name)
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				label := name
				if name == "-" {
					label = "stdin"
				}
				set, err := manifests.Import(src, label, data)
				var list manifests.ErrorList
				if errors.As(err, &list) {
					fmt.Fprintln(cmd.ErrOrStderr(), list.Error())
					failed = true
					continue
				}
				if err != nil {
					return fmt.Errorf("import %s: %w", label, err)
				}
				files, err := set.Files()
				if err != nil {
					return fmt.Errorf("import %s: %w", label, err)
				}
				for f, b := range files {
					if _, dup := all[f]; dup {
						fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s is declared by two inputs\n", label, f)
						failed = true
					}
					all[f] = b
				}
			}
			if failed {
				return &exitError{code: 1}
			}
			names := make([]string, 0, len(all))
			for f := range all {
				names = append(names, f)
			}
			slices.Sort(names)
			for _, f := range names {
				dst := filepath.Join(outDir, filepath.FromSlash(f))
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return fmt.Errorf("import: %w", err)
				}
				if err := os.WriteFile(dst, all[f], 0o644); err != nil {
					return fmt.Errorf("import: %w", err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), dst)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "directory to write the manifests into")
	return cmd
}

func readInput(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return b, nil
}
