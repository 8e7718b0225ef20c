// Command job is the berth/job:dev test image: it prints its arguments and
// task id, sleeps $SLEEP (a Go duration, default 0) and exits with
// $EXIT_CODE (default 0), so tests can drive FINISHED and FAILED.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	task := os.Getenv("BERTH_TASK_ID")
	if task == "" {
		task = os.Getenv("MESOS_TASK_ID")
	}
	fmt.Printf("job: task %s args %q\n", task, os.Args[1:])
	if s := os.Getenv("SLEEP"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "job: SLEEP=%q: %v\n", s, err)
			os.Exit(2)
		}
		time.Sleep(d)
	}
	code := 0
	if s := os.Getenv("EXIT_CODE"); s != "" {
		c, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "job: EXIT_CODE=%q: %v\n", s, err)
			os.Exit(2)
		}
		code = c
	}
	fmt.Printf("job: exiting %d\n", code)
	os.Exit(code)
}
