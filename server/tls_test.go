package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthops/berth/server"
	"github.com/berthops/berth/testenv"
)

// TestCertificateRenewedInPlaceIsServed: a certificate and key replaced in
// their files (as cert-manager or certbot renew them) are served from a
// later handshake on without a restart.
func TestCertificateRenewedInPlaceIsServed(t *testing.T) {
	ca := testenv.NewCA(t, "berth")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	install := func(cert, key string, at time.Time) {
		t.Helper()
		for _, f := range [][2]string{{cert, certFile}, {key, keyFile}} {
			b, err := os.ReadFile(f[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f[1], b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(f[1], at, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	c1, k1 := ca.Issue(t, "replica")
	install(c1, k1, time.Now().Add(-time.Minute))
	serve, _, err := server.TLSFiles{Cert: certFile, Key: keyFile}.Load()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		ErrorLog: log.New(io.Discard, "", 0)} // the test's own dials close right after the handshake
	go srv.Serve(tls.NewListener(ln, serve))
	t.Cleanup(func() { srv.Close() })

	roots, err := server.LoadCertPool(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	served := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	serialOf := func(file string) string {
		t.Helper()
		return serialIn(t, file)
	}
	first := served()
	if first != serialOf(c1) {
		t.Fatalf("serving serial %s, want the first certificate's %s", first, serialOf(c1))
	}

	// Renewed in place: served once the files are seen to change.
	c2, k2 := ca.Issue(t, "replica")
	install(c2, k2, time.Now())
	waitServed(t, served, serialOf(c2))

}

func waitServed(t *testing.T, served func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for served() != want {
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate %s was never served", want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serialIn is the serial number of the PEM certificate in file.
func serialIn(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM block", file)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert.SerialNumber.String()
}
