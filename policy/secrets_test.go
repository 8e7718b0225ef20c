package policy

import (
	"testing"

	"github.com/berthops/berth/cluster"
)

// TestSecretsNeedARecipient: a task with secrets is placed only on agents
// that published an age recipient to seal them to.
func TestSecretsNeedARecipient(t *testing.T) {
	spec := cluster.TaskSpec{Image: "x", Secrets: []cluster.SecretSpec{{Name: "pw", Secret: "/db", Key: "password", Env: "PW"}}}
	if r, ok := CheckAgent(cluster.Agent{ID: "old"}, spec); ok || r.Rule != RuleSecrets {
		t.Errorf("an agent without a recipient: %v %v", r, ok)
	}
	if r, ok := CheckAgent(cluster.Agent{ID: "new", SecretRecipient: "age1xyz"}, spec); !ok {
		t.Errorf("an agent with a recipient: %v", r)
	}
	if _, ok := CheckAgent(cluster.Agent{ID: "old"}, cluster.TaskSpec{Image: "x"}); !ok {
		t.Errorf("a task without secrets refused")
	}
}
