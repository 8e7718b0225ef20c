package gitsource

import (
	"net/url"
	"strings"
)

// Redact returns a repository URL fit to print: the user information of an
// http(s) URL (where a user name can itself be a token) becomes "***", and
// the password of any other URL "***". Paths and scp-like addresses are
// returned as they are.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || !strings.Contains(raw, "://") {
		if i := strings.Index(raw, "://"); i >= 0 {
			// Unparsable, but it may still hold user:password@.
			if at := strings.LastIndex(raw, "@"); at > i {
				return raw[:i+3] + "***" + raw[at:]
			}
		}
		return raw
	}
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		u.User = url.User("***")
	default:
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
	}
	return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
}

// splitCredentials takes the user information out of an http(s) URL, so
// that it reaches go-git only as an auth method: go-git stores a remote's URL
// in the clone's config and echoes it in its errors. It returns the URL
// unchanged when it holds none.
func splitCredentials(raw string) (bare, user, password string) {
	if !isHTTP(raw) {
		return raw, "", ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw, "", ""
	}
	user = u.User.Username()
	password, _ = u.User.Password()
	u.User = nil
	return u.String(), user, password
}

// redactedError hides a secret that an error from a lower layer may quote.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }

// redact wraps err so that none of secrets (at least 4 characters: shorter
// ones would blank out ordinary words) appear in its message.
func redact(err error, secrets ...string) error {
	var keep []string
	for _, s := range secrets {
		if len(s) >= 4 {
			keep = append(keep, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	if err == nil || len(keep) == 0 {
		return err
	}
	return &redactedError{err: err, secrets: keep}
}
