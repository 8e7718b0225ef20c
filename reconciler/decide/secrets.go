package decide

import (
	"slices"

	"github.com/berthops/berth/cluster"
	"github.com/berthops/berth/manifests"
)

// SecretSpecs lists where app's secrets go (environment variables and
// files), each with the version of the Secret it reads, in a stable order.
// Values are never here: the leader seals them into the assignment after
// deciding (package secrets), so the engine, berth diff and the API only
// ever see references and versions.
func SecretSpecs(app *manifests.App, secrets []manifests.Secret) []cluster.SecretSpec {
	if len(app.EnvSecrets) == 0 && !hasSecretVolume(app) {
		return nil
	}
	byID := make(map[string]*manifests.Secret, len(secrets))
	for i := range secrets {
		byID[secrets[i].ID] = &secrets[i]
	}
	ref := func(name string) cluster.SecretSpec {
		s := cluster.SecretSpec{Name: name}
		id, key := manifests.ParseSecretSource(app.Secrets[name].Source)
		s.Secret, s.Key = id, key
		if sec := byID[id]; sec != nil {
			s.Key, _ = sec.SecretKey(key)
			s.Version = sec.Version()
		}
		return s
	}
	var out []cluster.SecretSpec
	vars := make([]string, 0, len(app.EnvSecrets))
	for v := range app.EnvSecrets {
		vars = append(vars, v)
	}
	slices.Sort(vars)
	for _, v := range vars {
		s := ref(app.EnvSecrets[v])
		s.Env = v
		out = append(out, s)
	}
	if app.Container != nil {
		for _, v := range app.Container.Volumes {
			if v.Secret != "" {
				s := ref(v.Secret)
				s.Path = v.ContainerPath
				out = append(out, s)
			}
		}
	}
	return out
}

func hasSecretVolume(app *manifests.App) bool {
	if app.Container == nil {
		return false
	}
	for _, v := range app.Container.Volumes {
		if v.Secret != "" {
			return true
		}
	}
	return false
}
