package zkstore

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Config is a parsed connection string.
type Config struct {
	// Servers are host:port pairs (port 2181 when omitted).
	Servers []string
	// Chroot is the root of Berth's tree, "/berth" in zk://h/berth; every
	// store path is under it.
	Chroot string
	// User and Password are digest credentials: when set, Berth authenticates
	// with them and puts an ACL on every node it creates that lets only them
	// change it (everyone may read).
	User, Password string
}

// String renders the connection string with the password hidden, for logs.
func (c Config) String() string {
	auth := ""
	if c.User != "" {
		auth = c.User + ":***@"
	}
	return "zk://" + auth + strings.Join(c.Servers, ",") + c.Chroot
}

// ParseURL parses zk://[user:pass@]host[:port][,host[:port]...][/chroot],
// the form Mesos and Marathon use. Errors name the part that is wrong and
// say what would be valid, and never quote the password.
//
// The credentials are everything before the last "@", so a password may hold
// "/", "@" and ":" as written; a chroot therefore may not hold "@".
func ParseURL(s string) (Config, error) {
	var c Config
	rest, ok := strings.CutPrefix(s, "zk://")
	if !ok {
		return c, fmt.Errorf("--zk %q: must start with zk:// (zk://host1:2181,host2:2181/berth)", redact(s))
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		cred := rest[:i]
		rest = rest[i+1:]
		user, pass, ok := strings.Cut(cred, ":")
		if !ok || user == "" || pass == "" {
			return c, fmt.Errorf("--zk: credentials must be user:password before @")
		}
		c.User, c.Password = user, pass
	}
	hosts, chroot := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hosts, chroot = rest[:i], rest[i:]
	}
	if hosts == "" {
		return c, fmt.Errorf("--zk %q: no servers (zk://host1:2181,host2:2181/berth)", redact(s))
	}
	for _, h := range strings.Split(hosts, ",") {
		server, err := parseHost(h)
		if err != nil {
			return c, fmt.Errorf("--zk %q: server %q: %w", redact(s), h, err)
		}
		c.Servers = append(c.Servers, server)
	}
	chroot = strings.TrimSuffix(chroot, "/")
	if chroot != "" {
		if err := validChroot(chroot); err != nil {
			return c, fmt.Errorf("--zk %q: path %q: %w", redact(s), chroot, err)
		}
	}
	c.Chroot = chroot
	return c, nil
}

func parseHost(h string) (string, error) {
	if h == "" {
		return "", fmt.Errorf("empty host")
	}
	host, port := h, "2181"
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", fmt.Errorf("unclosed [ in IPv6 address")
		}
		host = h[1:end]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return "", fmt.Errorf("invalid IPv6 address %q", host)
		}
		switch rest := h[end+1:]; {
		case rest == "":
		case strings.HasPrefix(rest, ":"):
			port = rest[1:]
		default:
			return "", fmt.Errorf("want [ipv6] or [ipv6]:port")
		}
	} else {
		if i := strings.IndexByte(h, ':'); i >= 0 {
			host, port = h[:i], h[i+1:]
		}
		if host == "" || strings.Trim(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != "" {
			return "", fmt.Errorf("want host or host:port (a host name or IPv4 address; IPv6 in brackets)")
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return "", fmt.Errorf("port must be a number from 1 to 65535")
	}
	return net.JoinHostPort(host, port), nil
}

func validChroot(p string) error {
	for _, seg := range strings.Split(p[1:], "/") {
		switch {
		case seg == "":
			return fmt.Errorf("empty path element")
		case seg == "." || seg == "..":
			return fmt.Errorf("%q is not allowed as a path element", seg)
		case seg == "zookeeper" && !strings.Contains(p[1:], "/"):
			return fmt.Errorf("/zookeeper is reserved by ZooKeeper")
		case strings.Contains(seg, "@"):
			return fmt.Errorf("\"@\" is not allowed in the path (it ends the credentials)")
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f {
				return fmt.Errorf("control characters are not allowed")
			}
		}
	}
	return nil
}

// redact hides a password in a connection string quoted in an error, by
// ParseURL's own rule: the credentials are everything before the last "@".
func redact(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if strings.Contains(s, "@") {
			return "***"
		}
		return s
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return s
	}
	user, _, ok := strings.Cut(rest[:at], ":")
	if !ok || strings.Contains(user, "/") {
		user = "***"
	}
	return scheme + "://" + user + ":***@" + rest[at+1:]
}
