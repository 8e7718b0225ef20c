package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
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
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", f.Cert, f.Key, err)
	}
	serve = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.ClientCA != "" {
		pool, err := LoadCertPool(f.ClientCA)
		if err != nil {
			return nil, nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		serve.ClientCAs, serve.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	client := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.PeerCA != "" {
		if client.RootCAs, err = LoadCertPool(f.PeerCA); err != nil {
			return nil, nil, fmt.Errorf("--tls-ca: %w", err)
		}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = client
	return serve, t, nil
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
