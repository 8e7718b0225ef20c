package main

import (
	"errors"
	"fmt"

	"github.com/berthops/berth/manifests"
	"github.com/spf13/cobra"
)

func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [DIR...]",
		Short: "Check the manifests in each directory (default .) and print every error",
		Long: `validate loads every manifest under each directory the way the server
would load a commit, and prints every problem as path:line:col: field: message.
It exits 0 when all directories are valid and 1 otherwise.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			failed := false
			for _, dir := range args {
				set, err := manifests.LoadDir(dir)
				var list manifests.ErrorList
				switch {
				case errors.As(err, &list):
					fmt.Fprintln(cmd.OutOrStdout(), list.Error())
					failed = true
				case err != nil:
					fmt.Fprintf(cmd.ErrOrStderr(), "berth validate: %v\n", err)
					failed = true
				default:
					secretsNote := ""
					if len(set.Secrets) > 0 {
						// Loading checks a Secret's shape; only the servers decrypt it.
						secretsNote = fmt.Sprintf(", %d secrets (not decrypted)", len(set.Secrets))
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %d apps, %d jobs, %d templates, %d queues%s: valid\n",
						dir, len(set.Apps), len(set.Jobs), len(set.Templates), len(set.Queues), secretsNote)
				}
			}
			if failed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
}
