package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"
)

// TLSFiles are the PEM files a replica serves HTTPS with.
type TLSFiles struct {
	// Cert and Key are this replica's certificate (chain) and key. The
	// certificate must name the address other replicas and clients use
	// (its --advertise host) and, with ClientCA, allow client
	// authentication too: replicas present it when they forward.
	Cert, Key string
	// ClientCA, when set, requires every client to present a certificate
	// it signed (mutual TLS).
	ClientCA string
	// PeerCA signs the other replicas' certificates, trusted when
	// forwarding to the leader; empty: the system's roots.
	PeerCA string
}

// Load reads the files. With no certificate it returns nil, nil: plain
// HTTP. peers is the transport forwarding uses to reach other replicas.
// The certificate and key are read again when they change (keyPair); the CA
// files are read once.
func (f TLSFiles) Load() (serve *tls.Config, peers http.RoundTripper, err error) {
	if f.Cert == "" && f.Key == "" {
		if f.ClientCA != "" || f.PeerCA != "" {
			return nil, nil, errors.New("--tls-client-ca and --tls-ca need --tls-cert and --tls-key")
		}
		return nil, nil, nil
	}
	if f.Cert == "" || f.Key == "" {
		return nil, nil, errors.New("--tls-cert and --tls-key go together")
	}
	pair, err := loadKeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", f.Cert, f.Key, err)
	}
	serve = &tls.Config{MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return pair.get(), nil }}
	if f.ClientCA != "" {
		pool, err := LoadCertPool(f.ClientCA)
		if err != nil {
			return nil, nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		serve.ClientCAs, serve.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	client := &tls.Config{MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return pair.get(), nil }}
	if f.PeerCA != "" {
		if client.RootCAs, err = LoadCertPool(f.PeerCA); err != nil {
			return nil, nil, fmt.Errorf("--tls-ca: %w", err)
		}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = client
	return serve, t, nil
}

// keyPair serves a certificate and key from files and reads them again when
// either changes: a certificate renewed in place (cert-manager, certbot, a
// Vault agent) is served from the next handshake on, without a restart. A
// pair that does not load (a renewal half written, a key that does not
// match) leaves the last good one in service and is tried again.
type keyPair struct {
	cert, key string
	mu        sync.Mutex
	current   *tls.Certificate
	// certMod and keyMod are the files' modification times when current
	// was read; checked is when they were last compared, so a busy server
	// stats the files at most once a second.
	certMod, keyMod, checked time.Time
}

func loadKeyPair(cert, key string) (*keyPair, error) {
	p := &keyPair{cert: cert, key: key}
	c, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, err
	}
	p.current, p.certMod, p.keyMod, p.checked = &c, modTime(cert), modTime(key), time.Now()
	return p, nil
}

func (p *keyPair) get() *tls.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.checked) < time.Second {
		return p.current
	}
	p.checked = time.Now()
	cm, km := modTime(p.cert), modTime(p.key)
	if cm.Equal(p.certMod) && km.Equal(p.keyMod) {
		return p.current
	}
	c, err := tls.LoadX509KeyPair(p.cert, p.key)
	if err != nil {
		return p.current
	}
	p.current, p.certMod, p.keyMod = &c, cm, km
	return p.current
}

func modTime(file string) time.Time {
	fi, err := os.Stat(file)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// LoadCertPool reads a PEM file of CA certificates.
func LoadCertPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
