package client_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/berthops/berth/client"
	"github.com/berthops/berth/reconciler"
)

// BenchmarkReadEvents parses and decodes a stream of status events for a
// cluster of 1000 apps, what `berth sync --wait` or a dashboard following
// /v1/events reads on every change.
func BenchmarkReadEvents(b *testing.B) {
	st := reconciler.Status{Head: "4b825dc642cb6eb9a060e54bf8d69288fbee4904", Desired: "4b825dc642cb6eb9a060e54bf8d69288fbee4904"}
	for i := range 1000 {
		st.Apps = append(st.Apps, reconciler.AppStatus{ID: fmt.Sprintf("/team%d/app%d", i%20, i), Version: "fe04cff9ccb5",
			Sync: "OutOfSync", Health: "Progressing", Message: "1/3 healthy, 2 old (2 healthy)", Instances: 1, Healthy: 1})
	}
	data, err := json.Marshal(st)
	if err != nil {
		b.Fatal(err)
	}
	var stream bytes.Buffer
	for range 10 {
		fmt.Fprintf(&stream, "event: status\ndata: %s\n\n: keepalive\n\n", data)
	}
	b.SetBytes(int64(stream.Len()))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := client.ReadEvents(bytes.NewReader(stream.Bytes()), func(ev client.Event) error {
			var s reconciler.Status
			n++
			return json.Unmarshal([]byte(ev.Data), &s)
		})
		if err != nil || n != 10 {
			b.Fatalf("%d events, %v", n, err)
		}
	}
}
