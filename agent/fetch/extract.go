package fetch

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ulikunitz/xz"
)

type archive int

const (
	notArchive archive = iota
	tarPlain
	tarGzip
	tarBzip2
	tarXz
	zipArchive
)

// archiveKind recognises an archive by its name, as the Mesos fetcher did.
func archiveKind(name string) archive {
	n := strings.ToLower(name)
	has := func(suffixes ...string) bool {
		for _, s := range suffixes {
			if strings.HasSuffix(n, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has(".tar.gz", ".tgz"):
		return tarGzip
	case has(".tar.bz2", ".tbz2"):
		return tarBzip2
	case has(".tar.xz", ".txz"):
		return tarXz
	case has(".tar"):
		return tarPlain
	case has(".zip"):
		return zipArchive
	}
	return notArchive
}

// IsArchive reports whether a file of that name is extracted: Marathon's
// rule for which of an app's older `uris` are extracted.
func IsArchive(name string) bool { return archiveKind(name) != notArchive }

// extractor writes an archive's entries under root, refusing anything that
// would reach outside it or that is not a plain file, directory or link.
type extractor struct {
	ctx     context.Context
	root    *os.Root
	left    int64 // bytes still allowed
	limit   int64
	entries int
}

// extract unpacks an archive of kind k read from r (size bytes) into root.
func extract(ctx context.Context, root *os.Root, r io.ReaderAt, size int64, k archive, limit int64) error {
	x := &extractor{ctx: ctx, root: root, left: limit, limit: limit}
	if k == zipArchive {
		zr, err := zip.NewReader(r, size)
		if err != nil {
			return err
		}
		if err := x.zip(zr); err != nil {
			return err
		}
		return checkLinks(ctx, root)
	}
	var in io.Reader = bufio.NewReader(io.NewSectionReader(r, 0, size))
	switch k {
	case tarGzip:
		gz, err := gzip.NewReader(in)
		if err != nil {
			return err
		}
		defer gz.Close()
		in = gz
	case tarBzip2:
		in = bzip2.NewReader(in)
	case tarXz:
		xr, err := xz.NewReader(in)
		if err != nil {
			return err
		}
		in = xr
	}
	if err := x.tar(tar.NewReader(in)); err != nil {
		return err
	}
	return checkLinks(ctx, root)
}

func (x *extractor) tar(tr *tar.Reader) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var kind fs.FileMode
		switch h.Typeflag {
		case tar.TypeReg:
		case tar.TypeDir:
			kind = fs.ModeDir
		case tar.TypeSymlink:
			kind = fs.ModeSymlink
		case tar.TypeLink:
			if err := x.link(h.Name, h.Linkname); err != nil {
				return err
			}
			continue
		case tar.TypeXGlobalHeader:
			continue
		default:
			return fmt.Errorf("entry %q: %s entries are not extracted (only files, directories and links)", h.Name, typeName(h.Typeflag))
		}
		if err := x.entry(h.Name, kind, fs.FileMode(h.Mode).Perm(), h.Linkname, tr); err != nil {
			return err
		}
	}
}

func typeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("type %q", t)
}

func (x *extractor) zip(zr *zip.Reader) error {
	for _, f := range zr.File {
		mode := f.Mode()
		kind := fs.FileMode(0)
		switch {
		case mode.IsDir() || strings.HasSuffix(f.Name, "/"):
			kind = fs.ModeDir
		case mode&fs.ModeSymlink != 0:
			kind = fs.ModeSymlink
		case !mode.IsRegular():
			return fmt.Errorf("entry %q: mode %v entries are not extracted (only files, directories and links)", f.Name, mode)
		}
		if err := x.zipEntry(f, kind, mode.Perm()); err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) zipEntry(f *zip.File, kind, perm fs.FileMode) error {
	body, err := f.Open()
	if err != nil {
		return fmt.Errorf("entry %q: %w", f.Name, err)
	}
	defer body.Close()
	target := ""
	if kind == fs.ModeSymlink {
		// A zip symlink's target is the entry's content.
		b, err := io.ReadAll(io.LimitReader(body, 4096))
		if err != nil {
			return fmt.Errorf("entry %q: %w", f.Name, err)
		}
		target = string(b)
	}
	if perm == 0 {
		perm = 0o644 // zips written without Unix modes
	}
	return x.entry(f.Name, kind, perm, target, body)
}

// local turns an entry's name into a path relative to the root, refusing
// absolute paths and any that climb out with "..".
func local(name string) (string, bool) {
	name = strings.TrimPrefix(name, "./")
	if name == "" || name == "." {
		return ".", true
	}
	p := filepath.FromSlash(strings.TrimSuffix(name, "/"))
	if !filepath.IsLocal(p) {
		return "", false
	}
	return filepath.Clean(p), true
}

func (x *extractor) next(name string) (string, error) {
	if err := x.ctx.Err(); err != nil {
		return "", err
	}
	x.entries++
	if x.entries > maxEntries {
		return "", fmt.Errorf("more than %d entries: %w", maxEntries, ErrTooLarge)
	}
	p, ok := local(name)
	if !ok {
		return "", fmt.Errorf("entry %q is outside the sandbox", name)
	}
	if d := filepath.Dir(p); d != "." {
		if err := x.root.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("entry %q: %w", name, err)
		}
	}
	return p, nil
}

func (x *extractor) entry(name string, kind, perm fs.FileMode, linkname string, body io.Reader) error {
	p, err := x.next(name)
	if err != nil {
		return err
	}
	switch kind {
	case fs.ModeDir:
		if p == "." {
			return nil
		}
		// The owner keeps write access: the agent must be able to remove
		// the sandbox, whatever the archive said.
		if err := x.root.MkdirAll(p, perm|0o700); err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
		return nil
	case fs.ModeSymlink:
		// A first, lexical check; checkLinks resolves the finished tree.
		if p == "." || path.IsAbs(linkname) || !filepath.IsLocal(filepath.Join(filepath.Dir(p), filepath.FromSlash(linkname))) {
			return fmt.Errorf("entry %q: symlink to %q %w", name, linkname, errLeaves)
		}
		x.replace(p)
		if err := x.root.Symlink(linkname, p); err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
		return nil
	}
	if p == "." {
		return fmt.Errorf("entry %q: a file cannot replace the sandbox", name)
	}
	x.replace(p)
	out, err := x.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm|0o600)
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	n, err := io.Copy(out, io.LimitReader(body, x.left+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	x.left -= n
	if x.left < 0 {
		return fmt.Errorf("unpacks to more than %d bytes: %w (berth agent --fetch-max-extracted)", x.limit, ErrTooLarge)
	}
	return nil
}

func (x *extractor) link(name, target string) error {
	p, err := x.next(name)
	if err != nil {
		return err
	}
	t, ok := local(target)
	if !ok || t == "." || p == "." {
		return fmt.Errorf("entry %q: hard link to %q leads outside the sandbox", name, target)
	}
	x.replace(p)
	if err := x.root.Link(t, p); err != nil {
		return fmt.Errorf("entry %q: %w", name, err)
	}
	return nil
}

// replace removes an earlier entry of the same name (a later entry wins, as
// with tar), so that a file is never written through an old symlink.
func (x *extractor) replace(p string) {
	if fi, err := x.root.Lstat(p); err == nil && !fi.IsDir() {
		_ = x.root.Remove(p)
	}
}

// maxHops bounds the symlinks followed while resolving one path, as the
// kernel's own limit (40) does.
const maxHops = 40

// checkLinks resolves every symlink under root, through the links it meets
// on the way, and fails if one leads outside root. Each link was checked on
// its own when it was written, but a later link can change where an earlier
// one leads (l -> q/.. is harmless until q -> . turns it into ..), so the
// whole tree is checked once it is complete.
func checkLinks(ctx context.Context, root *os.Root) error {
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if err := resolveInside(root, p); err != nil {
			// Not left behind for anything on the host to follow.
			_ = root.Remove(p)
			return fmt.Errorf("symlink %q: %w", p, err)
		}
		return nil
	})
}

var errLeaves = errors.New("leads outside the sandbox")

// resolveInside follows p (slash-separated, relative to root) component by
// component, substituting every symlink met, and reports whether the path
// ever climbs above root. Missing components are taken as written.
func resolveInside(root *os.Root, p string) error {
	pending := strings.Split(p, "/")
	var cur []string
	hops := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return errLeaves
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := append(cur[:len(cur):len(cur)], c)
		joined := strings.Join(next, "/")
		fi, err := root.Lstat(joined)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > maxHops {
			return errors.New("too many levels of symlinks")
		}
		target, err := root.Readlink(joined)
		if err != nil {
			return err
		}
		if path.IsAbs(target) {
			return errLeaves
		}
		pending = append(strings.Split(target, "/"), pending...)
	}
	return nil
}
