package httpapi

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"testing"
)

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := func(f func() hash.Hash, key string) string {
		m := hmac.New(f, []byte(key))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	good256, good1, bad := mac(sha256.New, "s3cret"), mac(sha1.New, "s3cret"), mac(sha256.New, "other")
	tests := []struct {
		name, header, value, secret, provider string
		ok                                    bool
	}{
		{"github sha256", "X-Hub-Signature-256", "sha256=" + good256, "s3cret", "github", true},
		{"github sha256 wrong key", "X-Hub-Signature-256", "sha256=" + bad, "s3cret", "github", false},
		{"github sha256 no prefix", "X-Hub-Signature-256", good256, "s3cret", "github", false},
		{"github sha1", "X-Hub-Signature", "sha1=" + good1, "s3cret", "github", true},
		{"gitea", "X-Gitea-Signature", good256, "s3cret", "gitea", true},
		{"gitea not hex", "X-Gitea-Signature", "zz", "s3cret", "gitea", false},
		{"gitlab", "X-Gitlab-Token", "s3cret", "s3cret", "gitlab", true},
		{"gitlab wrong", "X-Gitlab-Token", "guess", "s3cret", "gitlab", false},
		{"no signature", "X-Other", "x", "s3cret", "", false},
		{"no secret configured", "X-Gitlab-Token", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tt.header, tt.value)
			p, ok := VerifyWebhook(h, body, tt.secret)
			if p != tt.provider || ok != tt.ok {
				t.Errorf("VerifyWebhook = %q, %v; want %q, %v", p, ok, tt.provider, tt.ok)
			}
		})
	}
}
