package manifests

import (
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// Artifact is one entry of Marathon's `fetch`: a URI the agent downloads
// into the task's sandbox before the task starts (the Mesos fetcher's job).
// Extract defaults to true, as in Marathon's schema.
type Artifact struct {
	URI        string `json:"uri" yaml:"uri"`
	Extract    bool   `json:"extract" yaml:"extract"`
	Executable bool   `json:"executable,omitempty" yaml:"executable,omitempty"`
	Cache      bool   `json:"cache,omitempty" yaml:"cache,omitempty"`
	// DestPath names the file in the sandbox (default: the URI's base name).
	DestPath string `json:"destPath,omitempty" yaml:"destPath,omitempty"`
}

// JobArtifact is Chronos's `fetch` entry: the same fields, but extract
// defaults to false, as in Chronos's Fetch.
type JobArtifact Artifact

// marathonExtracts is Marathon's rule for its older `uris`: an entry is
// extracted when its name ends like an archive (FetchUri.isExtract). Mesos
// extracted a Chronos job's `uris` by the same extensions.
func marathonExtracts(uri string) bool {
	for _, s := range []string{".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip"} {
		if strings.HasSuffix(uri, s) {
			return true
		}
	}
	return false
}

// normalizeArtifacts validates fetch and uris where they were written, and
// returns the one list the task runs with: fetch, or uris turned into fetch
// entries (never both, as in Marathon).
func normalizeArtifacts(fetch []Artifact, uris []string, r reporter) []Artifact {
	if len(fetch) > 0 && len(uris) > 0 {
		r.at(p("uris"), "set fetch or uris (its older form), not both")
	}
	for i, a := range fetch {
		if msg := checkURI(a.URI); msg != "" {
			r.at(p("fetch", i, "uri"), "%s", msg)
		} else if a.DestPath == "" && uriName(a.URI) == "" {
			r.at(p("fetch", i, "uri"), "%q names no file: set destPath", a.URI)
		}
		if d := a.DestPath; d != "" && (!filepath.IsLocal(filepath.FromSlash(d)) || path.Clean(d) == ".") {
			r.at(p("fetch", i, "destPath"), "must be a relative path inside the sandbox (no .., not absolute), found %q", a.DestPath)
		}
	}
	if len(fetch) > 0 {
		return fetch
	}
	var out []Artifact
	for i, u := range uris {
		if msg := checkURI(u); msg != "" {
			r.at(p("uris", i), "%s", msg)
		} else if uriName(u) == "" {
			r.at(p("uris", i), "%q names no file: use fetch with a destPath", u)
		}
		out = append(out, Artifact{URI: u, Extract: marathonExtracts(u)})
	}
	return out
}

// checkURI says what is wrong with an artifact's URI, or "".
func checkURI(uri string) string {
	if uri == "" {
		return "required"
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "not a valid URI: " + strings.TrimPrefix(err.Error(), "parse \""+uri+"\": ")
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return "an " + u.Scheme + " URI needs a host: " + uri
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "a file URI names a path on the agent (file:///path), not a host: " + uri
		}
		if !path.IsAbs(u.Path) {
			return "a file URI needs an absolute path (file:///path): " + uri
		}
	case "":
		return "no scheme: write http://, https:// or file:///path (" + uri + ")"
	default:
		return "scheme " + u.Scheme + " is not supported: the agent fetches http, https and file URIs"
	}
	return ""
}

// uriName is the name the Mesos fetcher gave a URI's file: the base name
// of what follows the scheme, so the host when the path is empty
// (https://url-to-file is saved as url-to-file).
func uriName(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	base := path.Base(u.Path)
	if base == "." || base == "/" || base == "" {
		base = u.Hostname()
	}
	if base == ".." {
		return ""
	}
	return base
}

// sandboxRelative reports whether a volume's hostPath is a path inside the
// task's sandbox, as Mesos read a relative hostPath.
func sandboxRelative(hostPath string) bool {
	return hostPath != "" && !strings.ContainsAny(hostPath, ":\x00") && filepath.IsLocal(filepath.FromSlash(hostPath))
}

func appArtifacts(js []JobArtifact) []Artifact {
	var out []Artifact
	for _, j := range js {
		out = append(out, Artifact(j))
	}
	return out
}

func jobArtifacts(as []Artifact) []JobArtifact {
	var out []JobArtifact
	for _, a := range as {
		out = append(out, JobArtifact(a))
	}
	return out
}
