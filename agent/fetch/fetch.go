// Package fetch is the agent's artifact fetcher, in place of the Mesos
// fetcher: it downloads a task's URIs (http, https, file) into the task's
// sandbox directory, extracts the archives it recognises (tar, tar.gz/tgz,
// tar.bz2/tbz2, tar.xz/txz, zip) unless told not to, marks files executable,
// and keeps a content cache keyed by URI that tasks on the node share.
//
// It knows nothing of containers or of the cluster beyond cluster.Artifact:
// the agent core calls Fetch before it asks the runtime to create the task's
// container. Every write goes through an os.Root opened on the sandbox, so
// neither a hostile archive nor a destPath can write outside it.
package fetch

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/berthops/berth/cluster"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxBytes          = 1 << 30 // 1 GiB per download
	DefaultMaxExtractedBytes = 4 << 30 // 4 GiB unpacked per archive
	DefaultTimeout           = 10 * time.Minute
	// maxEntries bounds the entries of one archive: a million empty files
	// cost the node more than their bytes say.
	maxEntries = 100_000
)

// Options tune a Fetcher. Zero values take the defaults above.
type Options struct {
	// CacheDir holds the cache of artifacts with cache: true. Empty: no
	// cache, every artifact is downloaded for every task.
	CacheDir string
	// MaxBytes caps one download; MaxExtractedBytes caps what one archive
	// unpacks to (a small archive can unpack to a full disk).
	MaxBytes          int64
	MaxExtractedBytes int64
	// Timeout bounds fetching (and extracting) one artifact.
	Timeout time.Duration
	// Client makes the http(s) requests (default: a client with the
	// environment's proxy settings and no overall timeout of its own).
	Client *http.Client
}

// Fetcher fetches artifacts into sandboxes. It is safe for concurrent use:
// cache entries are written under a temporary name and renamed into place.
type Fetcher struct {
	opts Options
}

// New returns a Fetcher; it creates the cache directory when one is given.
func New(opts Options) (*Fetcher, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxExtractedBytes <= 0 {
		opts.MaxExtractedBytes = DefaultMaxExtractedBytes
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.CacheDir != "" {
		if err := os.MkdirAll(opts.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("create the fetch cache %s: %w", opts.CacheDir, err)
		}
	}
	return &Fetcher{opts: opts}, nil
}

// Error is a failed fetch: which URI (credentials removed) and why.
type Error struct {
	URI string
	Err error
}

func (e *Error) Error() string { return "fetch " + e.URI + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrTooLarge is wrapped by errors about MaxBytes and MaxExtractedBytes.
var ErrTooLarge = errors.New("over the size limit")

// Fetch fetches every artifact, in order, into dir (which must exist). The
// first failure stops it: the task must not start without its files.
func (f *Fetcher) Fetch(ctx context.Context, dir string, artifacts []cluster.Artifact) error {
	if len(artifacts) == 0 {
		return nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open the sandbox %s: %w", dir, err)
	}
	defer root.Close()
	for _, a := range artifacts {
		if err := f.fetchOne(ctx, root, a); err != nil {
			return &Error{URI: Redact(a.URI), Err: err}
		}
	}
	return nil
}

// Redact removes the password of a URI's user info, so that a failure
// message (which reaches the task's status and the API) never carries it.
func Redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparsable URI)"
	}
	return u.Redacted()
}

// Name is the file name an artifact gets in the sandbox: destPath, else the
// base name of the URI's path, as Mesos did.
func Name(a cluster.Artifact) (string, error) {
	if a.DestPath != "" {
		name := filepath.FromSlash(a.DestPath)
		if !filepath.IsLocal(name) {
			return "", fmt.Errorf("destPath %q must be a relative path inside the sandbox", a.DestPath)
		}
		return name, nil
	}
	u, err := url.Parse(a.URI)
	if err != nil {
		return "", err
	}
	// As the Mesos fetcher: the base name of what follows the scheme, so
	// the host when the path is empty (https://url-to-file: url-to-file).
	base := path.Base(u.Path)
	if base == "." || base == "/" || base == "" {
		base = u.Hostname()
	}
	if base == "" || !filepath.IsLocal(base) {
		return "", fmt.Errorf("the URI names no file: set destPath")
	}
	return base, nil
}

func (f *Fetcher) fetchOne(ctx context.Context, root *os.Root, a cluster.Artifact) error {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	u, err := url.Parse(a.URI)
	if err != nil {
		return fmt.Errorf("parse the URI: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "file":
	default:
		return fmt.Errorf("scheme %q is not supported: use http, https or file", u.Scheme)
	}
	name, err := Name(a)
	if err != nil {
		return err
	}
	if d := filepath.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s in the sandbox: %w", d, err)
		}
	}
	if a.Cache && f.opts.CacheDir != "" {
		cached, err := f.cached(ctx, u)
		if err != nil {
			return err
		}
		err = copyInto(root, name, cached)
		if err != nil {
			return fmt.Errorf("copy from the cache: %w", err)
		}
	} else {
		tmp := ".fetch-" + randomSuffix()
		out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("create %s in the sandbox: %w", name, err)
		}
		err = f.download(ctx, u, out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = root.Rename(tmp, name)
		}
		if err != nil {
			_ = root.Remove(tmp)
			return err
		}
	}
	mode := os.FileMode(0o644)
	if a.Executable {
		mode = 0o755
	}
	if err := root.Chmod(name, mode); err != nil {
		return fmt.Errorf("set the mode of %s: %w", name, err)
	}
	if !a.Extract {
		return nil
	}
	kind := archiveKind(name)
	if kind == notArchive {
		return nil // Mesos leaves what it cannot extract as it was fetched
	}
	file, err := root.Open(name)
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return err
	}
	if err := extract(ctx, root, file, st.Size(), kind, f.opts.MaxExtractedBytes); err != nil {
		return fmt.Errorf("extract %s: %w", name, err)
	}
	return nil
}

// download copies the URI's content to out, at most MaxBytes of it.
func (f *Fetcher) download(ctx context.Context, u *url.URL, out io.Writer) error {
	var body io.ReadCloser
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return fmt.Errorf("file URIs name a path on the agent: file:///path, not host %q", u.Host)
		}
		file, err := os.Open(u.Path)
		if err != nil {
			return err
		}
		body = file
	default:
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		resp, err := f.opts.Client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URI is already in the message once
			}
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("HTTP %s", resp.Status)
		}
		if resp.ContentLength > f.opts.MaxBytes {
			resp.Body.Close()
			return fmt.Errorf("%d bytes: %w of %d bytes (berth agent --fetch-max-size)", resp.ContentLength, ErrTooLarge, f.opts.MaxBytes)
		}
		body = resp.Body
	}
	defer body.Close()
	n, err := io.Copy(out, &ctxReader{ctx: ctx, r: io.LimitReader(body, f.opts.MaxBytes+1)})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (after %d bytes; berth agent --fetch-timeout)", ctx.Err(), n)
		}
		return err
	}
	if n > f.opts.MaxBytes {
		return fmt.Errorf("%w of %d bytes (berth agent --fetch-max-size)", ErrTooLarge, f.opts.MaxBytes)
	}
	return nil
}

// cached returns the cache file of u, downloading it first when missing.
// Entries are keyed by the whole URI; a finished entry is never rewritten
// (as in Mesos, cache: true means "this URI's content does not change").
func (f *Fetcher) cached(ctx context.Context, u *url.URL) (string, error) {
	sum := sha256.Sum256([]byte(u.String()))
	p := filepath.Join(f.opts.CacheDir, hex.EncodeToString(sum[:]))
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	tmp, err := os.CreateTemp(f.opts.CacheDir, ".fetch-*")
	if err != nil {
		return "", fmt.Errorf("write to the cache: %w", err)
	}
	err = f.download(ctx, u, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", err
	}
	return p, nil
}

func copyInto(root *os.Root, name, from string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := ".fetch-" + randomSuffix()
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
	}
	return err
}

func randomSuffix() string { return rand.Text()[:12] }

// ctxReader ends a copy when ctx does, so a stalled file read or a slow
// server cannot outlive the fetch's timeout.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
