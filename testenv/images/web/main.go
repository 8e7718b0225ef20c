// Command web is the berth/web:dev test image: an HTTP server on every port
// in $WEB_PORTS (default "80,8080") that answers with its task id and
// hostname, so tests can tell instances apart, and whose /health endpoint can
// be told to fail, so tests can drive health-check handling.
//
// Endpoints: GET / (task id and hostname), GET /health (200, or 503 once
// failing), POST /fail and POST /recover (switch /health), GET /env (the
// environment, for checking what the agent passed). $HEALTH_FAIL=1 starts in
// the failing state. Every request is logged to stdout.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
)

func main() {
	ports := os.Getenv("WEB_PORTS")
	if ports == "" {
		ports = "80,8080"
	}
	task := os.Getenv("BERTH_TASK_ID")
	if task == "" {
		task = os.Getenv("MESOS_TASK_ID")
	}
	host, _ := os.Hostname()
	var failing atomic.Bool
	failing.Store(os.Getenv("HEALTH_FAIL") == "1")

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "task=%s host=%s\n", task, host)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		failing.Store(true)
		fmt.Fprintln(w, "failing")
	})
	mux.HandleFunc("POST /recover", func(w http.ResponseWriter, r *http.Request) {
		failing.Store(false)
		fmt.Fprintln(w, "recovered")
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		env := os.Environ()
		sort.Strings(env)
		fmt.Fprintln(w, strings.Join(env, "\n"))
	})
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s %s", r.RemoteAddr, r.Method, r.URL.Path)
		mux.ServeHTTP(w, r)
	})

	for _, p := range strings.Split(ports, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		srv := &http.Server{Addr: ":" + p, Handler: logged}
		go func() {
			if err := srv.ListenAndServe(); err != nil {
				log.Fatalf("listen on %s: %v", srv.Addr, err)
			}
		}()
		log.Printf("web: task %s listening on :%s", task, p)
	}

	// Exit promptly on SIGTERM so graceful kills are quick in tests; the
	// message shows in the output tail the agent reports.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	s := <-sig
	log.Printf("web: got %v, exiting", s)
}
