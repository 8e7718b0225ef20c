package cluster

// SecretSpec is one use of a secret by a task: the value of the app's
// secret Name (Marathon's name; from the repository's Secret, key Key)
// goes to the environment variable Env or to the file Path. Version
// changes whenever the Secret is re-encrypted, so a changed secret is a new
// spec version and a rolling restart, without the value showing anywhere.
//
// The values themselves are only ever in TaskSpec.Sealed: a JSON object of
// Name to value, age-encrypted by the leader to the recipient the
// assignment's agent published (Agent.SecretRecipient). The store, the API
// and the logs see ciphertext; only that agent can open it.
type SecretSpec struct {
	Name    string `json:"name"`
	Secret  string `json:"secret"`
	Key     string `json:"key"`
	Version string `json:"version"`
	Env     string `json:"env,omitempty"`
	Path    string `json:"path,omitempty"`
}

// WithoutSealed returns tasks with their sealed secrets blanked, for
// showing: the API says which secrets a task uses, and nothing more, not
// even as ciphertext. tasks itself is not changed (it may be shared).
func WithoutSealed(tasks []Task) []Task {
	out := tasks
	for i := range tasks {
		if tasks[i].Spec.Sealed == "" {
			continue
		}
		if &out[0] == &tasks[0] {
			out = append([]Task(nil), tasks...)
		}
		out[i].Spec.Sealed = ""
	}
	return out
}
