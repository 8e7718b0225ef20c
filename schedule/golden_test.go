package schedule

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestGolden prints the occurrences of every case in testdata/occurrences.txt
// and compares them with testdata/occurrences.golden.
func TestGolden(t *testing.T) {
	in, err := os.Open(filepath.Join("testdata", "occurrences.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out strings.Builder
	sc := bufio.NewScanner(in)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "|")
		if len(f) != 5 {
			t.Fatalf("occurrences.txt:%d: want 5 fields separated by |, found %d", line, len(f))
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		kind, expr, tz, from := f[0], f[1], f[2], mustTime(t, f[3])
		n, err := strconv.Atoi(f[4])
		if err != nil {
			t.Fatalf("occurrences.txt:%d: count %q: %v", line, f[4], err)
		}
		fmt.Fprintf(&out, "%s %q in %q from %s:\n", kind, expr, tz, f[3])
		var s Schedule
		if kind == "cron" {
			s, err = ParseCron(expr, tz)
		} else {
			s, err = ParseISO(expr, tz)
		}
		if err != nil {
			fmt.Fprintf(&out, "  error: %v\n", err)
			continue
		}
		times := s.NextN(from, n)
		for _, o := range times {
			fmt.Fprintf(&out, "  %s %s\n", o.Format(time.RFC3339Nano), o.Format("Mon"))
		}
		if len(times) < n {
			fmt.Fprintf(&out, "  (ended)\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "occurrences.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
	}
	if got := out.String(); got != string(want) {
		t.Errorf("occurrences differ from %s (review, then rerun with -update):\n%s", golden, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines that differ, enough to review a golden change.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n   got %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
