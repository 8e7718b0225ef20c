package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berthops/berth/manifests"
	"github.com/spf13/cobra"
)

func newFmtCmd() *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "fmt [DIR]",
		Short: "Rewrite the manifests under DIR (default .) in canonical style",
		Long: `fmt rewrites every manifest file under DIR (the files validate reads) in
Berth's canonical style: YAML indented by two spaces with keys in the model's
order, comments kept; JSON indented by two spaces. With --check it changes
nothing, lists the files that are not formatted and exits 1 if there are any.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			unformatted, failed := 0, false
			err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, err := filepath.Rel(dir, p)
				if err != nil {
					return err
				}
				rel = filepath.ToSlash(rel)
				if de.IsDir() {
					if rel != "." && de.Name()[0] == '.' {
						return filepath.SkipDir
					}
					return nil
				}
				if !de.Type().IsRegular() || !manifests.IsManifestFile(rel) {
					return nil
				}
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				out, err := manifests.Format(p, data)
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					failed = true
					return nil
				}
				if bytes.Equal(out, data) {
					return nil
				}
				unformatted++
				fmt.Fprintln(cmd.OutOrStdout(), p)
				if check {
					return nil
				}
				info, err := de.Info()
				if err != nil {
					return err
				}
				return os.WriteFile(p, out, info.Mode().Perm())
			})
			if err != nil {
				return fmt.Errorf("fmt: %w", err)
			}
			if failed || (check && unformatted > 0) {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "list unformatted files and exit 1 instead of rewriting them")
	return cmd
}
