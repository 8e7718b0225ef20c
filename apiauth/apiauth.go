// Package apiauth checks the API token on a request in every form the
// clients that read Berth send it: `Authorization: Bearer TOKEN` (Berth's
// CLI, Prometheus's authorization), HTTP basic auth with the token as the
// password and any user name (Prometheus's basic_auth, marathon-lb's
// --auth-credentials, go-marathon's HTTPBasicPassword), and DC/OS's
// `Authorization: token=TOKEN` (Prometheus's marathon_sd auth_token,
// go-marathon's DCOSToken). It only compares; it never logs or returns the
// token.
package apiauth

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Credential is the token a request carries, in whichever form it came;
// "" when it carries none.
func Credential(req *http.Request) string {
	h := req.Header.Get("Authorization")
	// The scheme name is case-insensitive (RFC 7235): "bearer" is "Bearer".
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	if tok, ok := strings.CutPrefix(h, "token="); ok {
		return strings.TrimSpace(tok)
	}
	if _, pass, ok := req.BasicAuth(); ok {
		return pass
	}
	return ""
}

// Valid reports whether req carries token. An empty token never matches:
// a server without a token refuses every protected request.
func Valid(req *http.Request, token string) bool {
	got := Credential(req)
	return token != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// Require serves h to requests that carry token (Valid). The others get
// both challenges (basic and bearer: the forms the dialects' clients send)
// and refuse's answer, which each dialect writes in its own shape.
func Require(token string, h http.Handler, refuse func(http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !Valid(req, token) {
			w.Header().Add("WWW-Authenticate", `Basic realm="berth"`)
			w.Header().Add("WWW-Authenticate", `Bearer realm="berth"`)
			refuse(w)
			return
		}
		h.ServeHTTP(w, req)
	})
}
