// Package ui is Berth's web UI: static pages embedded in the binary and
// served at /ui/ by `berth server` and `berth up`. The pages' JavaScript
// reads the same JSON API the CLI uses (docs/api.md) and follows
// GET /v1/events for live updates, so this package knows nothing of the
// reconciler or the cluster state: it only serves files. Writes (sync,
// run a job) send the API token from the browser's session storage in an
// Authorization header; the token never reaches a URL or this server's logs.
package ui

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var files embed.FS

// Prefix is where the UI is mounted.
const Prefix = "/ui/"

// Handler serves the UI under Prefix: the assets under /ui/static/, and the
// page shell for every other path, whose script then renders the page the
// path names (/ui/apps/web is the app /web).
func Handler() http.Handler {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	shell, err := fs.ReadFile(static, "index.html")
	if err != nil {
		panic(err)
	}
	assets := http.StripPrefix(Prefix+"static/", http.FileServer(http.FS(static)))
	built := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Only this origin's scripts and styles, no inline code, no framing:
		// a page that holds the API token must not run anyone else's script.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if rest, ok := strings.CutPrefix(r.URL.Path, Prefix+"static/"); ok && rest != "" && path.Ext(rest) != "" {
			assets.ServeHTTP(w, r)
			return
		}
		http.ServeContent(w, r, "index.html", built, bytes.NewReader(shell))
	})
}
