package gitsource

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// Auth holds the credentials for a remote. Only what fits the URL's scheme
// is used: the HTTP fields for http(s)://, the SSH fields for ssh:// and
// scp-like user@host:path addresses.
type Auth struct {
	// Token is sent as the password of HTTP basic auth, which GitHub,
	// GitLab and Gitea all accept for access tokens; Username defaults to
	// "x-access-token" with a token.
	Token    string
	Username string
	Password string

	// SSHKeyFile is a private key in PEM/OpenSSH form; SSHKeyPassphrase
	// decrypts it if needed. KnownHostsFile pins the server's host key;
	// empty means the user's ~/.ssh/known_hosts (or $SSH_KNOWN_HOSTS). A
	// host that is not listed is refused: never trust on first use.
	SSHKeyFile       string
	SSHKeyPassphrase string
	KnownHostsFile   string
	// SSHUser is the user for an ssh:// URL without one; default "git".
	SSHUser string
}

// scpLike matches git's scp-like SSH syntax, user@host:path.
func scpLike() *regexp.Regexp {
	return regexp.MustCompile(`^(?:([^@/]+)@)?([^:/]+):(.+)$`)
}

func isSSH(url string) bool {
	return strings.HasPrefix(url, "ssh://") || (!strings.Contains(url, "://") && scpLike().MatchString(url))
}

func isHTTP(url string) bool {
	return strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://")
}

// method turns a into the go-git auth method for url, or nil when the URL
// needs none.
func (a Auth) method(url string) (transport.AuthMethod, error) {
	switch {
	case isHTTP(url):
		if a.Token != "" {
			user := a.Username
			if user == "" {
				user = "x-access-token"
			}
			return &githttp.BasicAuth{Username: user, Password: a.Token}, nil
		}
		if a.Username != "" || a.Password != "" {
			return &githttp.BasicAuth{Username: a.Username, Password: a.Password}, nil
		}
		return nil, nil
	case isSSH(url):
		user := a.SSHUser
		if m := scpLike().FindStringSubmatch(url); !strings.HasPrefix(url, "ssh://") && m != nil && m[1] != "" {
			user = m[1]
		}
		if user == "" {
			user = "git"
		}
		var known []string
		if a.KnownHostsFile != "" {
			known = append(known, a.KnownHostsFile)
		}
		hostKeys, err := gitssh.NewKnownHostsCallback(known...)
		if err != nil {
			return nil, fmt.Errorf("read known_hosts %v: %w", known, err)
		}
		if a.SSHKeyFile == "" {
			agent, err := gitssh.NewSSHAgentAuth(user)
			if err != nil {
				return nil, fmt.Errorf("no SSH key given (--ssh-key) and no SSH agent: %w", err)
			}
			agent.HostKeyCallback = hostKeys
			return agent, nil
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, a.SSHKeyPassphrase)
		if err != nil {
			return nil, fmt.Errorf("read SSH key %s: %w", a.SSHKeyFile, err)
		}
		keys.HostKeyCallback = hostKeys
		return keys, nil
	}
	return nil, nil
}
