package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// The test images. No registry is reachable, so every image a test (or
// `make run`) uses is built here from a static binary on an empty base.
const (
	// WebImage serves HTTP on every port in $WEB_PORTS (default "80,8080"),
	// answers with its task id and has a /health endpoint that POST /fail breaks.
	WebImage = "berth/web:dev"
	// JobImage prints, sleeps $SLEEP and exits with $EXIT_CODE.
	JobImage = "berth/job:dev"
	// ShellImage is Debian's static busybox with sh and the applets linked in
	// /bin: the image the agent runs a Marathon `cmd` in when the app names
	// no image.
	ShellImage = "berth/shell:dev"
)

// imageHashLabel records the hash of what an image was built from, so a
// second build of the same sources is skipped.
const imageHashLabel = "berth.image.hash"

// busyboxPath is where Debian's busybox-static package installs busybox.
const busyboxPath = "/bin/busybox"

//go:embed images/web/main.go images/job/main.go
var imageSources embed.FS

// Images builds the test images once for the test binary (or finds them
// already built from the same sources) and fails the test with how to fix the
// machine when it cannot.
func Images(t testing.TB) {
	t.Helper()
	cli := Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := BuildImages(ctx, cli, io.Discard); err != nil {
		t.Fatalf("build test images: %v", err)
	}
}

// BuildImages builds berth/web:dev, berth/job:dev and berth/shell:dev unless
// an image with the same content hash is already there. Progress goes to log.
func BuildImages(ctx context.Context, cli *client.Client, log io.Writer) error {
	for _, prog := range []string{"web", "job"} {
		src, err := imageSources.ReadFile("images/" + prog + "/main.go")
		if err != nil {
			return fmt.Errorf("read %s source: %w", prog, err)
		}
		ref := "berth/" + prog + ":dev"
		hash := contentHash(src, []byte(runtime.Version()))
		if fresh(ctx, cli, ref, hash) {
			continue
		}
		fmt.Fprintf(log, "building %s\n", ref)
		bin, err := goBuild(ctx, src)
		if err != nil {
			return fmt.Errorf("build %s: %w", ref, err)
		}
		files := []tarFile{
			{name: "Dockerfile", body: []byte("FROM scratch\nCOPY " + prog + " /" + prog + "\nENTRYPOINT [\"/" + prog + "\"]\n"), mode: 0o644},
			{name: prog, body: bin, mode: 0o755},
		}
		if err := buildImage(ctx, cli, ref, hash, files, log); err != nil {
			return err
		}
	}
	return buildShell(ctx, cli, log)
}

func buildShell(ctx context.Context, cli *client.Client, log io.Writer) error {
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		return fmt.Errorf("read %s: %w (install Debian's busybox-static: make deps)", busyboxPath, err)
	}
	// The layout version changes the hash when the image's layout changes.
	// /mnt is there (writable) because Marathon's basic-0 example, which
	// examples/ keeps verbatim, appends to /mnt/test: on a Mesos agent that
	// was the host's /mnt.
	hash := contentHash(bb, []byte("layout 4: /tmp and /mnt 1777"))
	if fresh(ctx, cli, ShellImage, hash) {
		return nil
	}
	out, err := exec.CommandContext(ctx, busyboxPath, "--list").Output()
	if err != nil {
		return fmt.Errorf("list busybox applets: %w (is %s Debian's busybox-static? make deps)", err, busyboxPath)
	}
	fmt.Fprintf(log, "building %s\n", ShellImage)
	files := []tarFile{
		{name: "Dockerfile", body: []byte("FROM scratch\nCOPY bin /bin\nCOPY tmp /tmp\nCOPY mnt /mnt\nRUN [\"/bin/chmod\", \"1777\", \"/tmp\", \"/mnt\"]\nCMD [\"/bin/sh\"]\n"), mode: 0o644},
		{name: "bin/busybox", body: bb, mode: 0o755},
		{name: "tmp/", dir: true, mode: 0o1777},
		{name: "mnt/", dir: true, mode: 0o1777},
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		files = append(files, tarFile{name: "bin/" + applet, link: "busybox"})
	}
	return buildImage(ctx, cli, ShellImage, hash, files, log)
}

func contentHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// fresh reports whether ref exists and was built from the content hashed.
func fresh(ctx context.Context, cli *client.Client, ref, hash string) bool {
	img, err := cli.ImageInspect(ctx, ref)
	if err != nil || img.Config == nil {
		return false
	}
	return img.Config.Labels[imageHashLabel] == hash
}

// goBuild compiles one stdlib-only main package into a static Linux binary,
// in a throwaway module so it builds the same from any working directory.
func goBuild(ctx context.Context, src []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "berth-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module berthimage\n\ngo 1.22\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", "prog", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, out)
	}
	return os.ReadFile(filepath.Join(dir, "prog"))
}

type tarFile struct {
	name string
	body []byte
	mode int64
	link string // a symlink target instead of a body
	dir  bool
}

func buildImage(ctx context.Context, cli *client.Client, ref, hash string, files []tarFile, log io.Writer) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		switch {
		case f.link != "":
			hdr = &tar.Header{Name: f.name, Mode: 0o777, Linkname: f.link, Typeflag: tar.TypeSymlink}
		case f.dir:
			hdr = &tar.Header{Name: f.name, Mode: f.mode, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("build %s: tar %s: %w", ref, f.name, err)
		}
		if f.link == "" && !f.dir {
			if _, err := tw.Write(f.body); err != nil {
				return fmt.Errorf("build %s: tar %s: %w", ref, f.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("build %s: %w", ref, err)
	}
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags:        []string{ref},
		Labels:      map[string]string{imageHashLabel: hash},
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", ref, err)
	}
	defer resp.Body.Close()
	// The build's outcome is only in the message stream: an error there is
	// the build failing.
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("build %s: read progress: %w", ref, err)
		}
		if msg.Error != "" {
			return fmt.Errorf("build %s: %s", ref, msg.Error)
		}
		io.WriteString(log, msg.Stream)
	}
	return nil
}
