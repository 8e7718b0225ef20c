package cluster

import (
	"net/url"
	"strings"
	"testing"
)

func TestSplitBatches(t *testing.T) {
	fence := FenceCheck("/leader/n_0000000001")
	op := func(n int) Op { return Put("/a/x", []byte(strings.Repeat("d", n))) }
	tests := []struct {
		name  string
		ops   []Op
		fence *Op
		limit int
		want  []int // ops per batch, fence included
	}{
		{"empty", nil, &fence, 1000, nil},
		{"one small", []Op{op(10)}, &fence, 1000, []int{2}},
		{"no fence", []Op{op(10), op(10)}, nil, 1000, []int{2}},
		{"split at limit", []Op{op(300), op(300), op(300), op(300)}, &fence, 1000, []int{3, 3}},
		{"oversized op alone", []Op{op(10), op(5000), op(10)}, &fence, 1000, []int{2, 2, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitBatches(tc.ops, tc.fence, tc.limit)
			if len(got) != len(tc.want) {
				t.Fatalf("%d batches, want %d", len(got), len(tc.want))
			}
			for i, b := range got {
				if len(b) != tc.want[i] {
					t.Fatalf("batch %d has %d ops, want %d", i, len(b), tc.want[i])
				}
				if tc.fence != nil && !b[0].IsFence() {
					t.Fatalf("batch %d does not start with the fence", i)
				}
			}
		})
	}
}

func TestSplitBatchesStaysUnderZooKeeperLimit(t *testing.T) {
	var ops []Op
	for range 5000 {
		ops = append(ops, Put("/assignments/agent-1/task", []byte(strings.Repeat("s", 700))))
	}
	for i, b := range SplitBatches(ops, nil, 0) {
		size := 0
		for _, op := range b {
			size += len(op.Path) + len(op.Data) + 40 // ZooKeeper's own per-op encoding overhead
		}
		if size >= MaxRequestBytes {
			t.Fatalf("batch %d is %d bytes, over ZooKeeper's request limit", i, size)
		}
	}
}

func TestNodeName(t *testing.T) {
	for _, id := range []string{"/web/nginx", "a b", ".", "..", "web_nginx.0f3c", "%2F", "ü"} {
		name := nodeName(id)
		if strings.Contains(name, "/") || name == "." || name == ".." || name == "" {
			t.Fatalf("nodeName(%q) = %q is not a valid node name", id, name)
		}
		back, err := url.PathUnescape(name)
		if err != nil || back != id {
			t.Fatalf("nodeName(%q) = %q does not round-trip (%q, %v)", id, name, back, err)
		}
	}
}
