package server

import (
	"net/http/httptest"
	"testing"
	"time"
)

// TestForwardedMarker: a marker one replica signs verifies on another with
// the same key, for that method and URI and within a minute, and not
// otherwise.
func TestForwardedMarker(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	req := httptest.NewRequest("GET", "/v1/apps/web%2Fnginx?x=1", nil)
	mark := signForwarded("token", req, now)
	if !verifyForwarded("token", mark, httptest.NewRequest("GET", "/v1/apps/web%2Fnginx?x=1", nil), now.Add(30*time.Second)) {
		t.Fatalf("a replica's own marker %q does not verify", mark)
	}
	for name, ok := range map[string]bool{
		"other key":    verifyForwarded("other", mark, req, now),
		"other method": verifyForwarded("token", mark, httptest.NewRequest("POST", "/v1/apps/web%2Fnginx?x=1", nil), now),
		"other URI":    verifyForwarded("token", mark, httptest.NewRequest("GET", "/v1/sync", nil), now),
		"too old":      verifyForwarded("token", mark, req, now.Add(2*time.Minute)),
		"bare":         verifyForwarded("token", "1", req, now),
		"garbage":      verifyForwarded("token", "x.y", req, now),
	} {
		if ok {
			t.Errorf("%s: the marker verified", name)
		}
	}
	if !verifyForwarded("", "1", req, now) {
		t.Error("without a token the marker is not authenticated, and must still stop loops")
	}
}
