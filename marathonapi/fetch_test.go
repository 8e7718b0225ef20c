package marathonapi

import (
	"encoding/json"
	"testing"

	"github.com/berthops/berth/manifests"
)

func TestFetchShownAsMarathonDid(t *testing.T) {
	b, _ := json.Marshal(fetchOf([]manifests.Artifact{{URI: "http://x/a.tgz", Extract: true}, {URI: "http://x/b", DestPath: "c"}}))
	want := `[{"cache":false,"executable":false,"extract":true,"uri":"http://x/a.tgz"},{"cache":false,"destPath":"c","executable":false,"extract":false,"uri":"http://x/b"}]`
	if string(b) != want {
		t.Errorf("fetch = %s, want %s", b, want)
	}
	if b, _ := json.Marshal(fetchOf(nil)); string(b) != "[]" {
		t.Errorf("no fetch = %s, want []", b)
	}
}
