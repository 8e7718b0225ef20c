package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ForwardedHeader marks a request one replica forwarded to the leader, so
// the receiver serves it instead of forwarding it again. A client must not
// be able to set it (it would make a follower answer leader-only requests
// from its own, idle, view), so its value is an HMAC keyed with the API
// token over a timestamp, the method and the request URI.
const ForwardedHeader = "X-Berth-Forwarded"

// forwardSkew is how far a forwarded request's timestamp may be from this
// replica's clock.
const forwardSkew = time.Minute

// ForwardOptions configure forwarding to the leader.
type ForwardOptions struct {
	// Key authenticates forwarded requests between replicas: the API token.
	// Without one the marker is not authenticated, which is no loss: with
	// no token every write is refused and every read is open anyway.
	Key string
	// Transport reaches the other replicas: with TLS, it trusts their CA
	// and presents this replica's certificate. Nil: http.DefaultTransport.
	Transport http.RoundTripper
	// StreamWriteTimeout bounds each write of a forwarded answer, which
	// replaces the server's write timeout for it (event streams are
	// forwarded too). 30 s if zero.
	StreamWriteTimeout time.Duration
}

// Forwarder returns the function the API calls for leader-only endpoints:
// it proxies the request to the leader's API when this replica does not
// lead and returns true, or returns false to have it served here (this
// replica leads, no leader is known, or a replica already forwarded it).
func (s *Server) Forwarder(o ForwardOptions) func(http.ResponseWriter, *http.Request) bool {
	if o.StreamWriteTimeout <= 0 {
		o.StreamWriteTimeout = 30 * time.Second
	}
	scheme := "http"
	if s.cfg.TLS != nil {
		scheme = "https"
	}
	return func(w http.ResponseWriter, r *http.Request) bool {
		if v := r.Header.Get(ForwardedHeader); v != "" {
			r.Header.Del(ForwardedHeader)
			if verifyForwarded(o.Key, v, r, s.cfg.Now()) {
				return false // never loop between replicas
			}
			s.log.Warn("dropped a forwarding marker that no replica signed", "remote", r.RemoteAddr, "path", r.URL.Path)
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		_, addr, self, err := s.LeaderAddress(ctx)
		cancel()
		if self || err != nil || addr == "" {
			return false
		}
		target, err := url.Parse(scheme + "://" + addr)
		if err != nil {
			return false
		}
		mark := signForwarded(o.Key, r, s.cfg.Now())
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.SetXForwarded()
				pr.Out.Header.Set(ForwardedHeader, mark)
			},
			Transport: o.Transport,
			ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
				s.log.Warn("forward to the leader failed", "leader", addr, "err", err)
				http.Error(w, fmt.Sprintf(`{"error": "forward to the leader %s failed"}`, addr), http.StatusBadGateway)
			},
		}
		proxy.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: o.StreamWriteTimeout}, r)
		return true
	}
}

func forwardMAC(key, ts string, r *http.Request) string {
	m := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(m, "%s\n%s\n%s", ts, r.Method, r.URL.RequestURI())
	return hex.EncodeToString(m.Sum(nil))
}

func signForwarded(key string, r *http.Request, now time.Time) string {
	if key == "" {
		return "1"
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	return ts + "." + forwardMAC(key, ts, r)
}

func verifyForwarded(key, v string, r *http.Request, now time.Time) bool {
	if key == "" {
		return true
	}
	ts, mac, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > forwardSkew || d < -forwardSkew {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(forwardMAC(key, ts, r)))
}

// deadlineWriter gives each write of a proxied answer its own deadline, in
// place of the server's write timeout, so a forwarded event stream lives as
// long as its client reads it and no longer.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) WriteHeader(code int) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController (the proxy's flushes) reach the
// server's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
