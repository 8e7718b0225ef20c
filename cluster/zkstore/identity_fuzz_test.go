package zkstore_test

import (
	"testing"

	"github.com/berthops/berth/cluster/zkstore"
)

// FuzzParseAgentIdentity: any file either parses into an identity that
// formats and parses back the same, or is refused with an error; never a
// panic.
func FuzzParseAgentIdentity(f *testing.F) {
	f.Add(zkstore.IssueAgentIdentity("berth-server", "pw", []byte("secret"), "node-2").Format())
	f.Add([]byte("agent a\nuser agent-a\npassword p\ngroup-password g\nserver s:d\n"))
	f.Add([]byte("agent a:b\nuser agent-a%3Ab\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := zkstore.ParseAgentIdentity(data)
		if err != nil {
			return
		}
		b, err := zkstore.ParseAgentIdentity(a.Format())
		if err != nil {
			t.Fatalf("a parsed identity does not parse back: %v\n%s", err, a.Format())
		}
		if a != b {
			t.Fatalf("round trip changed the identity: %+v != %+v", a, b)
		}
	})
}
