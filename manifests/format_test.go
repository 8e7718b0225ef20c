package manifests

import "testing"

// TestFormatEmptyAndCommentOnly: files without documents are formatted (and
// keep their comments), and empty documents are not written as lines that
// do not parse back, as they were.
func TestFormatEmptyAndCommentOnly(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"\n\n  \n", ""},
		{"# only a comment  \n\n", "# only a comment\n"},
		{"\n# a\n---\n# b\n", "# a\n---\n# b\n"},
		{"---\n", "---\n"},
		{"kind: Queue\nid: /q\n---\n", "kind: Queue\nid: /q\n"},
	}
	for _, tt := range tests {
		out, err := Format("f.yaml", []byte(tt.in))
		if err != nil || string(out) != tt.want {
			t.Errorf("Format(%q) = %q, %v; want %q", tt.in, out, err, tt.want)
			continue
		}
		if again, err := Format("f.yaml", out); err != nil || string(again) != tt.want {
			t.Errorf("Format(Format(%q)) = %q, %v", tt.in, again, err)
		}
	}
}
