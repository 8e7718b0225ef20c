package zkstore

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/berthops/berth/cluster"
)

// Identities give servers and each agent their own ZooKeeper digest
// identity, with ACLs that let an agent write only its own registration,
// live node and statuses, read only its own assignments and the published
// templates, and let nobody else read anything (docs/security.md,
// "ZooKeeper identities"). The servers' identity is the Config's user.
//
// Agents' passwords are derived from a secret only the servers hold
// (AgentCredentials), so servers can put every agent's identity on the
// nodes it may use without a registry of agents, and an agent holding its
// own password cannot derive another's.
type Identities struct {
	// Server is the servers' digest identity, "user:base64(sha1)".
	Server string
	// Group is the identity every agent also holds, which may create its
	// own node in the top-level directories and read the templates.
	Group string
	// Agent returns an agent's digest identity, if this process knows it:
	// servers know every agent's, an agent only its own.
	Agent func(agentID string) (string, bool)
	// Auth are credentials this process adds besides the Config's own
	// (an agent's group credentials).
	Auth []Credential
}

// Credential is a digest user and password.
type Credential struct{ User, Password string }

// GroupUser is the user name of the identity every agent shares.
const GroupUser = "berth-agents"

// DigestID is the ZooKeeper digest identity of user and password,
// user:base64(sha1(user:password)), as it appears in ACLs.
func DigestID(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

func derive(secret []byte, what string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(what))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// AgentUser is the digest user name of an agent: agent-<id>, with what a
// digest user may not hold (':') escaped.
func AgentUser(agentID string) string {
	return "agent-" + strings.ReplaceAll(url.PathEscape(agentID), ":", "%3A")
}

// AgentCredentials derives an agent's credentials from the servers' agent
// secret.
func AgentCredentials(secret []byte, agentID string) Credential {
	return Credential{User: AgentUser(agentID), Password: derive(secret, "agent\n"+agentID)}
}

// GroupCredentials derives the agents' shared credentials.
func GroupCredentials(secret []byte) Credential {
	return Credential{User: GroupUser, Password: derive(secret, "group")}
}

// ServerIdentities are the identities of a server process: its own (user
// and password of its connection string) and, from the agent secret, every
// agent's.
func ServerIdentities(user, password string, agentSecret []byte) *Identities {
	g := GroupCredentials(agentSecret)
	return &Identities{
		Server: DigestID(user, password),
		Group:  DigestID(g.User, g.Password),
		Agent: func(id string) (string, bool) {
			c := AgentCredentials(agentSecret, id)
			return DigestID(c.User, c.Password), true
		},
	}
}

// AgentIdentity is what one agent holds: the file `berth zk-identity`
// writes for it.
type AgentIdentity struct {
	AgentID string
	Agent   Credential
	Group   Credential
	// Server is the servers' digest identity (not their password).
	Server string
}

// IssueAgentIdentity makes the identity of agentID, on a server's side.
func IssueAgentIdentity(serverUser, serverPassword string, agentSecret []byte, agentID string) AgentIdentity {
	return AgentIdentity{AgentID: agentID, Agent: AgentCredentials(agentSecret, agentID), Group: GroupCredentials(agentSecret),
		Server: DigestID(serverUser, serverPassword)}
}

// Format renders the identity file.
func (a AgentIdentity) Format() []byte {
	return fmt.Appendf(nil, "# Berth ZooKeeper identity of agent %s: keep it 0600, readable by the agent only.\nagent %s\nuser %s\npassword %s\ngroup-password %s\nserver %s\n",
		a.AgentID, a.AgentID, a.Agent.User, a.Agent.Password, a.Group.Password, a.Server)
}

// ParseAgentIdentity reads an identity file; errors name the line.
func ParseAgentIdentity(data []byte) (AgentIdentity, error) {
	var a AgentIdentity
	fields := map[string]*string{"agent": &a.AgentID, "user": &a.Agent.User, "password": &a.Agent.Password,
		"group-password": &a.Group.Password, "server": &a.Server}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		p, ok := fields[k]
		if !ok {
			return a, fmt.Errorf("line %d: unknown key %q (want agent, user, password, group-password, server)", n, k)
		}
		*p = strings.TrimSpace(v)
	}
	a.Group.User = GroupUser
	for k, p := range fields {
		if *p == "" {
			return a, fmt.Errorf("no %s line", k)
		}
	}
	if a.Agent.User != AgentUser(a.AgentID) {
		return a, fmt.Errorf("user %q is not agent %s's (%s)", a.Agent.User, a.AgentID, AgentUser(a.AgentID))
	}
	return a, nil
}

// Identities are the store identities of the agent holding a.
func (a AgentIdentity) Identities() *Identities {
	own := DigestID(a.Agent.User, a.Agent.Password)
	return &Identities{
		Server: a.Server,
		Group:  DigestID(a.Group.User, a.Group.Password),
		Agent: func(id string) (string, bool) {
			return own, id == a.AgentID
		},
		Auth: []Credential{a.Group},
	}
}

// aclFor is the ACL of the node at rel (relative to the chroot) under ids.
func (ids *Identities) aclFor(rel string) []zk.ACL {
	acl := []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: ids.Server}}
	access := cluster.PathAccess(rel)
	if access.Agent != "" {
		if id, ok := ids.Agent(access.Agent); ok {
			perms := int32(zk.PermRead)
			if access.AgentWrites {
				perms = zk.PermAll
			}
			acl = append(acl, zk.ACL{Perms: perms, Scheme: "digest", ID: id})
		}
		return acl
	}
	var perms int32
	if access.AgentsRead {
		perms |= zk.PermRead
	}
	if access.AgentsCreate {
		perms |= zk.PermCreate
	}
	if perms != 0 {
		acl = append(acl, zk.ACL{Perms: perms, Scheme: "digest", ID: ids.Group})
	}
	return acl
}
