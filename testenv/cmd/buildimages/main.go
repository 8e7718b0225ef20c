// Command buildimages builds Berth's test and example images (berth/web:dev,
// berth/job:dev, berth/shell:dev) into the local Docker Engine; it is what
// scripts/build-images.sh runs for `make run`. Images already built from the
// same sources are left alone.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/berthops/berth/testenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cli, err := testenv.NewDockerClient()
	if err != nil {
		fmt.Fprintln(os.Stderr, "buildimages: docker:", err)
		os.Exit(1)
	}
	defer cli.Close()
	if err := testenv.BuildImages(ctx, cli, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "buildimages:", err)
		os.Exit(1)
	}
}
