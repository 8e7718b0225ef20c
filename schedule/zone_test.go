package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestLoadZone(t *testing.T) {
	tests := []struct {
		in       string
		wantName string // expected location name, or offset in seconds as text for fixed zones
		err      string
	}{
		{in: "", wantName: "UTC"},
		{in: "UTC", wantName: "UTC"},
		{in: "Europe/Berlin", wantName: "Europe/Berlin"},
		{in: "PST", wantName: "America/Los_Angeles"},
		{in: "CTT", wantName: "Asia/Shanghai"},
		{in: "EST", wantName: "EST"},
		{in: "PST8PDT", wantName: "PST8PDT"},
		{in: "+05:30", wantName: "+05:30"},
		{in: "-08", wantName: "-08"},
		{in: "+0100", wantName: "+0100"},
		{in: "GMT+05:30", wantName: "GMT+05:30"},
		{in: "UTC-08", wantName: "UTC-08"},
		{in: "GMT+", err: "offset must be"},
		{in: "Local", err: "not allowed"},
		{in: "PDT", err: "unknown time zone"},
		{in: "Europe/Nowhere", err: "unknown time zone"},
		{in: "/etc/passwd", err: "unknown time zone"},
		{in: "+25:00", err: "offset hours"},
		{in: "+1", err: "offset must be"},
	}
	for _, tt := range tests {
		loc, err := LoadZone(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("LoadZone(%q) = %v, %v; want error containing %q", tt.in, loc, err, tt.err)
			}
			continue
		}
		if err != nil || loc.String() != tt.wantName {
			t.Errorf("LoadZone(%q) = %v, %v; want %s", tt.in, loc, err, tt.wantName)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct{ zone, wall, want string }{
		{"America/Los_Angeles", "2026-07-01T12:00:00Z", "2026-07-01T12:00:00-07:00"},
		{"America/Los_Angeles", "2026-03-08T02:00:00Z", "2026-03-08T03:00:00-07:00"},
		{"America/Los_Angeles", "2026-03-08T02:59:59Z", "2026-03-08T03:59:59-07:00"},
		{"America/Los_Angeles", "2026-11-01T01:00:00Z", "2026-11-01T01:00:00-07:00"},
		{"America/Los_Angeles", "2026-11-01T01:59:59Z", "2026-11-01T01:59:59-07:00"},
		{"America/Los_Angeles", "2026-11-01T02:00:00Z", "2026-11-01T02:00:00-08:00"},
		{"Europe/Berlin", "2026-03-29T02:30:00Z", "2026-03-29T03:30:00+02:00"},
		{"Europe/Berlin", "2026-10-25T02:30:00Z", "2026-10-25T02:30:00+02:00"},
		// Far beyond the last transition in the database: the zone's rule applies.
		{"Europe/Berlin", "2090-03-26T02:30:00Z", "2090-03-26T03:30:00+02:00"},
		// Lord Howe moves its clocks by half an hour.
		{"Australia/Lord_Howe", "2026-10-04T02:15:00Z", "2026-10-04T02:45:00+11:00"},
		{"Australia/Lord_Howe", "2026-04-05T01:45:00Z", "2026-04-05T01:45:00+11:00"},
	}
	for _, tt := range tests {
		loc, err := LoadZone(tt.zone)
		if err != nil {
			t.Fatal(err)
		}
		got := resolve(mustTime(t, tt.wall), loc)
		if got.Format(time.RFC3339) != tt.want {
			t.Errorf("resolve(%s in %s) = %s, want %s", tt.wall, tt.zone, got.Format(time.RFC3339), tt.want)
		}
	}
}
