package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berthops/berth/client"
)

func TestReadEvents(t *testing.T) {
	tests := []struct {
		name, in string
		want     []client.Event
	}{
		{"one status", "event: status\ndata: {\"a\":1}\n\n", []client.Event{{Name: "status", Data: `{"a":1}`}}},
		{"keepalive comments are skipped", ": keepalive\n\nevent: status\ndata: x\n\n: keepalive\n\n", []client.Event{{Name: "status", Data: "x"}}},
		{"no name is a message", "data: x\n\n", []client.Event{{Name: "message", Data: "x"}}},
		{"data lines join with newlines", "data: a\ndata:b\ndata\n\n", []client.Event{{Name: "message", Data: "a\nb\n"}}},
		{"CRLF line ends", "event: status\r\ndata: x\r\nid: 7\r\n\r\n", []client.Event{{Name: "status", Data: "x", ID: "7"}}},
		{"no data, no event", "event: status\n\n", nil},
		{"unterminated last event is dropped", "data: a\n\ndata: b\n", []client.Event{{Name: "message", Data: "a"}}},
		{"unknown fields are ignored", "retry: 10\nfoo: bar\ndata: a\n\n", []client.Event{{Name: "message", Data: "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []client.Event
			err := client.ReadEvents(strings.NewReader(tt.in), func(ev client.Event) error { got = append(got, ev); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadEventsStops(t *testing.T) {
	in := "data: 1\n\ndata: 2\n\ndata: 3\n\n"
	n := 0
	err := client.ReadEvents(strings.NewReader(in), func(client.Event) error { n++; return client.ErrStop })
	if err != nil || n != 1 {
		t.Errorf("ErrStop: err %v after %d events, want nil after 1", err, n)
	}
	boom := errors.New("boom")
	if err := client.ReadEvents(strings.NewReader(in), func(client.Event) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("callback error: %v", err)
	}
	long := "data: " + strings.Repeat("x", 17<<20) + "\n\n"
	if err := client.ReadEvents(strings.NewReader(long), func(client.Event) error { return nil }); err == nil {
		t.Error("a 17 MiB line was accepted")
	}
}

func FuzzReadEvents(f *testing.F) {
	for _, s := range []string{"event: status\ndata: {}\n\n", ": c\n\ndata\n\n", "id: \x00\ndata: a\r\n\r\n", "data: a\ndata: b\n", ":\n\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_ = client.ReadEvents(strings.NewReader(in), func(ev client.Event) error {
			if ev.Name == "" {
				t.Fatalf("event with no name from %q", in)
			}
			if strings.Contains(ev.Name, "\n") || strings.Contains(ev.ID, "\n") {
				t.Fatalf("a field spans lines: %+v from %q", ev, in)
			}
			return nil
		})
	})
}
