package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berthops/berth/agent"
	"github.com/berthops/berth/secrets"
)

// loadServerIdentity reads --age-identity; without one, commits whose apps
// use secrets are refused, and the log says so once at start.
func loadServerIdentity(file string, logger *slog.Logger) (*secrets.Identity, error) {
	if file == "" {
		logger.Info("no --age-identity: a commit whose apps use secrets is refused (this server cannot decrypt Secrets)")
		return nil, nil
	}
	id, err := readIdentityFile(file, "--age-identity")
	if err != nil {
		return nil, err
	}
	logger.Info("secrets: Secrets encrypted to this recipient can be used", "recipient", id.Recipient())
	return id, nil
}

func readIdentityFile(file, flag string) (*secrets.Identity, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	id, err := secrets.ParseIdentity(f)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, file, err)
	}
	return id, nil
}

// agentSecrets sets up the agent's side of secrets: its own identity in
// stateDir (made at the first start) and secretsDir, which must be a tmpfs.
// An agent that cannot have them still runs, without secrets: the leader
// places no task with secrets there (it publishes no recipient).
func agentSecrets(stateDir, secretsDir string, logger *slog.Logger) *agent.Secrets {
	if stateDir == "" {
		logger.Warn("no --state-dir: this agent cannot run tasks that use secrets")
		return nil
	}
	id, err := agent.LoadOrCreateIdentity(filepath.Join(stateDir, "age-identity.txt"))
	if err == nil {
		err = agent.CheckTmpfs(secretsDir)
	}
	if err != nil {
		logger.Warn("this agent cannot run tasks that use secrets", "err", err)
		return nil
	}
	logger.Info("secrets: tasks' secrets are sealed to this agent's recipient", "recipient", id.Recipient(), "dir", secretsDir)
	return &agent.Secrets{Identity: id, Dir: secretsDir}
}

// defaultSecretsDir is a per-directory place under /dev/shm (a tmpfs on
// every Linux) for an agent whose state is in stateDir.
func defaultSecretsDir(stateDir string) string {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		abs = stateDir
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join("/dev/shm", "berth-secrets-"+hex.EncodeToString(sum[:4]))
}

func secretsDirOr(dir, stateDir string) string {
	if dir != "" {
		return dir
	}
	return defaultSecretsDir(stateDir)
}

func newSecretCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Write Secret manifests: values encrypted to age recipients",
		Long: `A Secret keeps values in the repository encrypted with age to its recipients: the
servers' public key (berth server --age-identity) and usually the operators' own, so
that they can edit it. Apps use them through Marathon's secrets (docs/manifests.md#secret).`,
	}
	cmd.AddCommand(newSecretEncryptCmd(), newSecretEditCmd())
	return cmd
}

func newSecretEncryptCmd() *cobra.Command {
	var (
		id, out, key    string
		recipients      []string
		recipientsFiles []string
	)
	cmd := &cobra.Command{
		Use:   "encrypt [FILE]",
		Short: "Encrypt values (a YAML mapping key: value, from FILE or stdin) as a Secret manifest",
		Long: `Read values from FILE (or stdin when FILE is - or absent) and write a Secret manifest
encrypting them to the recipients. The input is a YAML or JSON mapping of key to value;
with --key, the whole input is the one value of that key (a certificate, say).
The manifest goes to -o FILE (mode 0644: it holds only ciphertext) or stdout.`,
		Example: `  printf 'password: hunter2\n' | berth secret encrypt --id databasepassword \
      --recipient age1servers... --recipient age1me... -o secrets/db.yaml
  berth secret encrypt --id tls --key cert.pem --recipients-file recipients.txt server.pem > secrets/tls.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" {
				return errors.New("--id is required: the id apps' secrets name as their source")
			}
			all, err := gatherRecipients(recipients, recipientsFiles)
			if err != nil {
				return err
			}
			var in []byte
			if len(args) == 0 || args[0] == "-" {
				in, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), secrets.MaxValuesBytes+1))
			} else {
				in, err = os.ReadFile(args[0])
			}
			if err != nil {
				return fmt.Errorf("read the values: %w", err)
			}
			if len(in) > secrets.MaxValuesBytes {
				return fmt.Errorf("the values are larger than %d bytes", secrets.MaxValuesBytes)
			}
			var values map[string]string
			if key != "" {
				values = map[string]string{key: string(in)}
			} else if values, err = secrets.ParseValues(in); err != nil {
				return err
			}
			s, err := secrets.NewSecret(id, all, values)
			if err != nil {
				return err
			}
			text, err := secrets.Manifest(s)
			if err != nil {
				return err
			}
			if out == "" {
				_, err = cmd.OutOrStdout().Write(text)
				return err
			}
			return os.WriteFile(out, text, 0o644)
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "id", "", "the Secret's id (apps name it in secrets: {NAME: {source: ID}})")
	f.StringArrayVarP(&recipients, "recipient", "r", nil, "age recipient (age1...) to encrypt to (repeatable)")
	f.StringArrayVarP(&recipientsFiles, "recipients-file", "R", nil, "file of age recipients, one per line (repeatable)")
	f.StringVar(&key, "key", "", "take the whole input as the value of this one key")
	f.StringVarP(&out, "output", "o", "", "write the manifest to this file instead of stdout")
	return cmd
}

func gatherRecipients(list, files []string) ([]string, error) {
	all := append([]string(nil), list...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--recipients-file: %w", err)
		}
		all = append(all, strings.Split(string(b), "\n")...)
	}
	if _, err := secrets.ParseRecipients(all); err != nil {
		return nil, fmt.Errorf("recipients: %w (give --recipient or --recipients-file)", err)
	}
	return all, nil
}

func newSecretEditCmd() *cobra.Command {
	var (
		identity   string
		recipients []string
	)
	cmd := &cobra.Command{
		Use:   "edit FILE",
		Short: "Decrypt a Secret manifest, edit its values in $EDITOR, encrypt it again",
		Long: `Decrypt FILE's Secret with your age identity (--identity, default $BERTH_AGE_IDENTITY),
open its values as YAML in $EDITOR (a file under /dev/shm, a tmpfs, removed afterwards),
and encrypt the result to the same recipients (plus any --add-recipient). The file is
rewritten only when something changed, so an unchanged Secret keeps its version and no
task restarts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if identity == "" {
				return errors.New("--identity is required (or $BERTH_AGE_IDENTITY): your age identity, one of the Secret's recipients")
			}
			id, err := readIdentityFile(identity, "--identity")
			if err != nil {
				return err
			}
			file := args[0]
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			s, err := secrets.ReadSecretFile(file, data)
			if err != nil {
				return err
			}
			editor := os.Getenv("VISUAL")
			if editor == "" {
				editor = os.Getenv("EDITOR")
			}
			if editor == "" {
				editor = "vi"
			}
			out, changed, err := secrets.Edit(s, id, recipients, func(text []byte) ([]byte, error) {
				return runEditor(cmd, editor, text)
			})
			if err != nil {
				return err
			}
			if !changed {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: unchanged\n", file)
				return nil
			}
			text, err := secrets.Manifest(out)
			if err != nil {
				return err
			}
			if err := os.WriteFile(file, text, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: Secret %s re-encrypted (version %s)\n", file, out.ID, out.Version())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&identity, "identity", "i", os.Getenv("BERTH_AGE_IDENTITY"), "your age identity file")
	f.StringArrayVar(&recipients, "add-recipient", nil, "also encrypt to this age recipient (repeatable)")
	return cmd
}

// runEditor lets a person edit text in a private file on a tmpfs.
func runEditor(cmd *cobra.Command, editor string, text []byte) ([]byte, error) {
	dir := os.TempDir()
	if err := agent.CheckTmpfs("/dev/shm"); err == nil {
		dir = "/dev/shm"
	}
	f, err := os.CreateTemp(dir, "berth-secret-*.yaml")
	if err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	name := f.Name()
	defer os.Remove(name)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("edit: %w", err)
	}
	if _, err := f.Write(text); err != nil {
		f.Close()
		return nil, fmt.Errorf("edit: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	// The editor is a command line, as git runs $EDITOR: through a shell.
	c := exec.CommandContext(cmd.Context(), "/bin/sh", "-c", editor+` "$1"`, "berth-secret-edit", name)
	c.Stdin, c.Stdout, c.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("editor %q: %w", editor, err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	return bytes.TrimLeft(b, "\ufeff"), nil
}
