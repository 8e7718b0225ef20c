package testenv

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Files reads every file under dir into a map keyed by its slash path
// relative to dir, as GitRepo.Commit takes it: a test commits a directory
// of the project (the examples) to a repository of its own.
func Files(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("testenv: read %s: %v", dir, err)
	}
	return files
}
