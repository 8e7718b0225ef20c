package chronosapi

import (
	"encoding/json"
	"testing"

	"github.com/berthops/berth/manifests"
)

func TestFetchShownAsChronosDid(t *testing.T) {
	b, _ := json.Marshal(fetchOf([]manifests.JobArtifact{{URI: "https://x/etl.tgz", Extract: true, Cache: true}}))
	want := `[{"cache":true,"executable":false,"extract":true,"uri":"https://x/etl.tgz"}]`
	if string(b) != want {
		t.Errorf("fetch = %s, want %s", b, want)
	}
}
