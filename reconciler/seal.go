package reconciler

import (
	"fmt"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/reconciler/decide"
	"github.com/berthops/berth/secrets"
)

// seal puts the secret values of every task the decision starts into its
// assignment, encrypted to the recipient its agent published: the store
// then holds ciphertext only, which nobody but that agent can open. The
// engine itself never sees values (it decides on references and versions).
// A task that cannot be sealed fails the pass before anything is written.
func seal(changes []decide.Change, agents []cluster.Agent, keys *secrets.Keyring) error {
	var recipients map[string]string
	for i, c := range changes {
		start, ok := c.(decide.StartTask)
		if !ok || len(start.Assignment.Spec.Secrets) == 0 {
			continue
		}
		if keys == nil {
			return fmt.Errorf("task %s uses secrets but no Secret is open on this server", start.Assignment.TaskID)
		}
		if recipients == nil {
			recipients = make(map[string]string, len(agents))
			for _, a := range agents {
				recipients[a.ID] = a.SecretRecipient
			}
		}
		sealed, err := keys.Seal(start.Assignment.Spec, recipients[start.Assignment.AgentID])
		if err != nil {
			return fmt.Errorf("seal the secrets of task %s for agent %s: %w", start.Assignment.TaskID, start.Assignment.AgentID, err)
		}
		start.Assignment.Spec.Sealed = sealed
		changes[i] = start
	}
	return nil
}
