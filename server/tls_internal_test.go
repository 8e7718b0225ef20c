package server

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthops/berth/testenv"
)

// A renewal that does not load (a certificate written before its key)
// leaves the last good pair in service, and the finished renewal is taken
// at the next check.
func TestBrokenRenewalKeepsTheLastGoodCertificate(t *testing.T) {
	ca := testenv.NewCA(t, "berth")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	copyFile := func(from, to string, at time.Time) {
		t.Helper()
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(to, at, at); err != nil {
			t.Fatal(err)
		}
	}
	c1, k1 := ca.Issue(t, "replica")
	copyFile(c1, certFile, time.Now().Add(-time.Minute))
	copyFile(k1, keyFile, time.Now().Add(-time.Minute))
	p, err := loadKeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	good := p.get().Certificate[0]

	c2, k2 := ca.Issue(t, "replica")
	copyFile(c2, certFile, time.Now()) // the key is not there yet
	p.checked = time.Time{}
	if got := p.get(); got == nil || !bytes.Equal(got.Certificate[0], good) {
		t.Fatalf("a half-written renewal replaced the certificate in service")
	}
	copyFile(k2, keyFile, time.Now())
	p.checked = time.Time{}
	if got := p.get(); bytes.Equal(got.Certificate[0], good) {
		t.Fatalf("the finished renewal was not taken")
	}
	if _, err := loadKeyPair(certFile, filepath.Join(dir, "missing.key")); err == nil {
		t.Errorf("a missing key loaded at start")
	}
}
