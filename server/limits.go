package server

import (
	"io"
	"net"
	"sync"
	"time"
)

// Limits bound what clients can hold on a replica: an unauthenticated
// client must not be able to exhaust its goroutines or file descriptors with
// slow or idle connections. Zero fields take the defaults below.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's headers (10 s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (30 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing an answer (60 s). Streams (GET
	// /v1/events) set their own per-write deadlines instead.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections left idle (120 s).
	IdleTimeout time.Duration
	// MaxConns caps open connections (1024); past it a new connection is
	// answered 503 and closed at once.
	MaxConns int
}

// DefaultMaxConns is Limits.MaxConns when unset.
const DefaultMaxConns = 1024

func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&l.ReadHeaderTimeout, 10*time.Second)
	def(&l.ReadTimeout, 30*time.Second)
	def(&l.WriteTimeout, 60*time.Second)
	def(&l.IdleTimeout, 120*time.Second)
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	return l
}

// limitListener caps open connections. Unlike a listener that stops
// accepting at the cap (golang.org/x/net/netutil), it answers the extra
// connection with a 503 and closes it, so clients learn the server is busy
// instead of waiting in the kernel's backlog.
type limitListener struct {
	net.Listener
	mu   sync.Mutex
	open int
	max  int
	// plain: the connections speak HTTP directly (no TLS), so a refused
	// one can be told why.
	plain bool
}

func newLimitListener(ln net.Listener, max int, plain bool) *limitListener {
	return &limitListener{Listener: ln, max: max, plain: plain}
}

const rejectResponse = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 34\r\n\r\ntoo many connections; retry later\n"

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.open >= l.max {
			l.mu.Unlock()
			go func() {
				if l.plain {
					_ = c.SetDeadline(time.Now().Add(time.Second))
					_, _ = c.Write([]byte(rejectResponse))
					// Closing with the request unread would reset the
					// connection, and the client might lose the answer:
					// half-close, then drain what it sent, briefly.
					if hc, ok := c.(interface{ CloseWrite() error }); ok {
						_ = hc.CloseWrite()
						_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
					}
				}
				_ = c.Close()
			}()
			continue
		}
		l.open++
		l.mu.Unlock()
		return &limitedConn{Conn: c, l: l}, nil
	}
}

type limitedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		c.l.mu.Unlock()
	})
	return err
}
