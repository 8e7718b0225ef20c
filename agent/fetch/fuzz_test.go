package fetch

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExtract feeds arbitrary bytes to every archive reader: extraction may
// fail, but must not panic, write outside the sandbox, or leave a symlink
// that leads out of it.
func FuzzExtract(f *testing.F) {
	site := tarOf(f, entry{name: "d/", typ: tar.TypeDir, mode: 0o755}, entry{name: "d/f", body: "x"},
		entry{name: "d/l", typ: tar.TypeSymlink, link: "f"}, entry{name: "h", typ: tar.TypeLink, link: "d/f"})
	evil := tarOf(f, entry{name: "d/up", typ: tar.TypeSymlink, link: ".."}, entry{name: "d/up/x", body: "x"})
	for _, seed := range [][]byte{site, evil, gzipOf(f, site), xzOf(f, site), zipOf(f, map[string]string{"a/b": "c"})} {
		for _, name := range []string{"a.tar", "a.tgz", "a.txz", "a.zip", "a.tbz2"} {
			f.Add(seed, name)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		if archiveKind(name) == notArchive {
			return
		}
		parent := t.TempDir()
		dir := filepath.Join(parent, "sandbox")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// The archive's own name stays fixed so that an entry cannot
		// clash with it in surprising ways; only its kind comes from name.
		arch := "input" + map[archive]string{tarPlain: ".tar", tarGzip: ".tgz", tarBzip2: ".tbz2", tarXz: ".txz", zipArchive: ".zip"}[archiveKind(name)]
		if err := os.WriteFile(filepath.Join(dir, arch), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_ = extractFile(t, dir, arch)
		checkConfined(t, parent)
	})
}
