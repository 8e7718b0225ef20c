package reconciler

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strings"
)

// maxHookBody bounds what a webhook may send; push payloads are far smaller.
const maxHookBody = 5 << 20

// VerifyWebhook checks a push webhook from GitHub, GitLab or Gitea against
// secret and returns which of them sent it. GitHub signs the body with
// HMAC-SHA256 (X-Hub-Signature-256, or HMAC-SHA1 in X-Hub-Signature from
// older setups), Gitea with HMAC-SHA256 in X-Gitea-Signature (hex, no prefix),
// and GitLab sends the secret itself in X-Gitlab-Token. Comparisons are
// constant-time. An empty secret accepts nothing: an unauthenticated hook
// would let anyone trigger syncs.
func VerifyWebhook(h http.Header, body []byte, secret string) (provider string, ok bool) {
	if secret == "" {
		return "", false
	}
	key := []byte(secret)
	switch {
	case h.Get("X-Gitea-Signature") != "":
		return "gitea", macEqual(sha256.New, key, body, h.Get("X-Gitea-Signature"))
	case h.Get("X-Hub-Signature-256") != "":
		sig, found := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		return "github", found && macEqual(sha256.New, key, body, sig)
	case h.Get("X-Hub-Signature") != "":
		sig, found := strings.CutPrefix(h.Get("X-Hub-Signature"), "sha1=")
		return "github", found && macEqual(sha1.New, key, body, sig)
	case h.Get("X-Gitlab-Token") != "":
		return "gitlab", subtle.ConstantTimeCompare([]byte(h.Get("X-Gitlab-Token")), key) == 1
	}
	return "", false
}

func macEqual(newHash func() hash.Hash, key, body []byte, hexSig string) bool {
	want, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(newHash, key)
	m.Write(body)
	return hmac.Equal(m.Sum(nil), want)
}

// readHookBody reads a webhook body, refusing oversized ones.
func readHookBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, maxHookBody))
}
