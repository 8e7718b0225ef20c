package main

import (
	"bytes"
	"regexp"
	"testing"
)

func TestBenchAllocator(t *testing.T) {
	var out, errb bytes.Buffer
	root := newRootCmd(&out, &errb)
	root.SetArgs([]string{"bench", "allocator", "--agents", "1000", "--tasks", "5000", "--seed", "3"})
	if err := root.Execute(); err != nil {
		t.Fatalf("bench allocator: %v (stderr %q)", err, errb.String())
	}
	want := regexp.MustCompile(`^placements_per_sec: [1-9][0-9]*\nunplaced: 0\npeak_rss_mib: [1-9][0-9]*\n$`)
	if !want.MatchString(out.String()) {
		t.Errorf("bench allocator printed %q", out.String())
	}
	root = newRootCmd(&out, &errb)
	root.SetArgs([]string{"bench", "allocator", "--mix", "odd"})
	if err := root.Execute(); err == nil {
		t.Errorf("--mix odd was accepted")
	}
}
