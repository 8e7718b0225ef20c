package httpapi

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
	"sync"
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

// HasWebhookCredentials reports whether h carries any signature or token a
// provider sends, so that an unsigned request is refused before its body is
// read: a client without the secret must not be able to hold the server on a
// slow body.
func HasWebhookCredentials(h http.Header) bool {
	for _, k := range []string{"X-Gitea-Signature", "X-Hub-Signature-256", "X-Hub-Signature", "X-Gitlab-Token"} {
		if h.Get(k) != "" {
			return true
		}
	}
	return false
}

// deliveryID is the provider's unique id of one webhook delivery, if any.
func deliveryID(h http.Header) string {
	for _, k := range []string{"X-GitHub-Delivery", "X-Gitea-Delivery", "X-Gitlab-Event-UUID"} {
		if v := h.Get(k); v != "" {
			return k + ":" + v
		}
	}
	return ""
}

// deliveries remembers the latest verified delivery ids, so that a captured
// webhook replayed as is (signature and all) is refused instead of making
// the leader fetch again.
type deliveries struct {
	mu    sync.Mutex
	max   int
	seen  map[string]bool
	order []string // oldest first, for eviction
}

func newDeliveries(max int) *deliveries {
	return &deliveries{max: max, seen: map[string]bool{}}
}

// first records id and reports whether it was not seen before.
func (d *deliveries) first(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[id] {
		return false
	}
	d.seen[id] = true
	d.order = append(d.order, id)
	if len(d.order) > d.max {
		delete(d.seen, d.order[0])
		d.order = d.order[1:]
	}
	return true
}
