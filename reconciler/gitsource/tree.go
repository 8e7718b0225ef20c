package gitsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TreeFS is a commit's tree as a read-only fs.FS, read lazily from the object
// store: only the files opened are decompressed. Symbolic links are followed
// inside the tree, as a checkout would; a link out of the tree does not
// exist. It implements fs.ReadDirFS, fs.ReadFileFS and fs.StatFS.
type TreeFS struct {
	src  *Source
	root *object.Tree
	dirs map[plumbing.Hash]map[string]object.TreeEntry // guarded by src.mu
}

// Hash is the tree's object hash: two TreeFS with equal hashes hold
// identical content.
func (t *TreeFS) Hash() string { return t.root.Hash.String() }

// maxLinks bounds symbolic-link resolution, as the kernel's ELOOP does.
const maxLinks = 40

// node is one resolved entry of the tree.
type node struct {
	name string // base name, "." for the root
	mode filemode.FileMode
	hash plumbing.Hash
}

// dir returns the entries of the tree with hash h by name, reading each tree
// object once per TreeFS: a manifest repository is read file by file, and
// walking from the root for every file would read the upper trees thousands
// of times. The caller holds src.mu.
func (t *TreeFS) dir(h plumbing.Hash) (map[string]object.TreeEntry, error) {
	if d, ok := t.dirs[h]; ok {
		return d, nil
	}
	tree, err := object.GetTree(t.src.repo.Storer, h)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	d := make(map[string]object.TreeEntry, len(tree.Entries))
	for _, e := range tree.Entries {
		d[e.Name] = e
	}
	if t.dirs == nil {
		t.dirs = map[plumbing.Hash]map[string]object.TreeEntry{}
	}
	t.dirs[h] = d
	return d, nil
}

// lookup resolves name (a valid fs path) to its entry, following symbolic
// links in every component. The caller holds src.mu.
func (t *TreeFS) lookup(op, name string) (node, error) {
	if !fs.ValidPath(name) {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return node{name: ".", mode: filemode.Dir, hash: t.root.Hash}, nil
	}
	links := 0
	parts := strings.Split(name, "/")
	// stack holds the trees from the root down to the current directory,
	// so that a relative link can climb back up.
	stack := []plumbing.Hash{t.root.Hash}
	for i := 0; i < len(parts); i++ {
		switch parts[i] {
		case ".", "":
			continue
		case "..":
			if len(stack) == 1 {
				return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
			}
			stack = stack[:len(stack)-1]
			if i == len(parts)-1 {
				return node{name: path.Base(name), mode: filemode.Dir, hash: stack[len(stack)-1]}, nil
			}
			continue
		}
		d, err := t.dir(stack[len(stack)-1])
		if err != nil {
			return node{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		e, ok := d[parts[i]]
		if !ok {
			return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		if e.Mode == filemode.Symlink {
			links++
			if links > maxLinks {
				return node{}, &fs.PathError{Op: op, Path: name, Err: errors.New("too many levels of symbolic links")}
			}
			target, err := t.readBlob(e.Hash)
			if err != nil {
				return node{}, &fs.PathError{Op: op, Path: name, Err: err}
			}
			if path.IsAbs(string(target)) {
				return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
			}
			rest := append(strings.Split(string(target), "/"), parts[i+1:]...)
			if len(rest) > 0 && rest[len(rest)-1] == "" {
				rest = rest[:len(rest)-1]
			}
			if len(rest) == 0 {
				return node{name: path.Base(name), mode: filemode.Dir, hash: stack[len(stack)-1]}, nil
			}
			parts, i = rest, -1
			continue
		}
		if i == len(parts)-1 {
			return node{name: path.Base(name), mode: e.Mode, hash: e.Hash}, nil
		}
		if e.Mode != filemode.Dir {
			return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		stack = append(stack, e.Hash)
	}
	// Only "." and ".." components were left after a link: the directory
	// the walk ended in.
	return node{name: path.Base(name), mode: filemode.Dir, hash: stack[len(stack)-1]}, nil
}

func (t *TreeFS) readBlob(h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(t.src.repo.Storer, h)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", h, err)
	}
	r, err := b.Reader()
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", h, err)
	}
	defer r.Close()
	data := make([]byte, b.Size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("blob %s: %w", h, err)
	}
	return data, nil
}

func (t *TreeFS) entries(op, name string, n node) ([]fs.DirEntry, error) {
	d, err := t.dir(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	out := make([]fs.DirEntry, 0, len(d))
	for _, e := range d {
		out = append(out, &dirEntry{fsys: t, dir: name, n: node{name: e.Name, mode: e.Mode, hash: e.Hash}})
	}
	// fs.ReadDir promises name order (Git's own order puts "a.b" before
	// the directory "a", and map order is random).
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Open implements fs.FS.
func (t *TreeFS) Open(name string) (fs.File, error) {
	t.src.mu.Lock()
	defer t.src.mu.Unlock()
	n, err := t.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.mode == filemode.Dir {
		ents, err := t.entries("open", name, n)
		if err != nil {
			return nil, err
		}
		return &dirFile{info: fileInfo{n: n}, entries: ents}, nil
	}
	if n.mode == filemode.Submodule {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("is a submodule, which Berth does not follow")}
	}
	data, err := t.readBlob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &file{info: fileInfo{n: n, size: int64(len(data))}, r: bytes.NewReader(data)}, nil
}

// ReadFile implements fs.ReadFileFS.
func (t *TreeFS) ReadFile(name string) ([]byte, error) {
	t.src.mu.Lock()
	defer t.src.mu.Unlock()
	n, err := t.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if n.mode == filemode.Dir || n.mode == filemode.Submodule {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	data, err := t.readBlob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir implements fs.ReadDirFS.
func (t *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	t.src.mu.Lock()
	defer t.src.mu.Unlock()
	n, err := t.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if n.mode != filemode.Dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return t.entries("readdir", name, n)
}

// Stat implements fs.StatFS.
func (t *TreeFS) Stat(name string) (fs.FileInfo, error) {
	t.src.mu.Lock()
	defer t.src.mu.Unlock()
	n, err := t.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return t.info(n)
}

// info builds a FileInfo; files need their size from the object store. The
// caller holds src.mu.
func (t *TreeFS) info(n node) (fs.FileInfo, error) {
	fi := fileInfo{n: n}
	if n.mode != filemode.Dir && n.mode != filemode.Submodule {
		o, err := t.src.repo.Storer.EncodedObject(plumbing.BlobObject, n.hash)
		if err != nil {
			return nil, fmt.Errorf("blob %s of %s: %w", n.hash, n.name, err)
		}
		fi.size = o.Size()
	}
	return fi, nil
}

type fileInfo struct {
	n    node
	size int64
}

func (fi fileInfo) Name() string       { return fi.n.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return goMode(fi.n.mode) }
func (fi fileInfo) ModTime() time.Time { return time.Time{} }
func (fi fileInfo) IsDir() bool        { return fi.n.mode == filemode.Dir }
func (fi fileInfo) Sys() any           { return nil }

func goMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir:
		return fs.ModeDir | 0o555
	case filemode.Executable:
		return 0o555
	case filemode.Symlink:
		return fs.ModeSymlink | 0o444
	case filemode.Submodule:
		return fs.ModeIrregular
	}
	return 0o444
}

type dirEntry struct {
	fsys *TreeFS
	dir  string
	n    node
}

func (d *dirEntry) Name() string      { return d.n.name }
func (d *dirEntry) IsDir() bool       { return d.n.mode == filemode.Dir }
func (d *dirEntry) Type() fs.FileMode { return goMode(d.n.mode).Type() }
func (d *dirEntry) Info() (fs.FileInfo, error) {
	d.fsys.src.mu.Lock()
	defer d.fsys.src.mu.Unlock()
	return d.fsys.info(d.n)
}

type file struct {
	info fileInfo
	r    *bytes.Reader
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *file) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *file) Close() error               { return nil }

type dirFile struct {
	info    fileInfo
	entries []fs.DirEntry
	off     int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: errors.New("is a directory")}
}
func (d *dirFile) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}

func sortStrings(s []string) { sort.Strings(s) }
