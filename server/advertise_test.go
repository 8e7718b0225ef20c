package server

import (
	"net"
	"testing"
)

func TestAdvertisedAddress(t *testing.T) {
	tcp := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	for _, tt := range []struct {
		explicit, ln, want string
		wantErr            bool
	}{
		{"", "127.0.0.1:8080", "127.0.0.1:8080", false},
		{"", "0.0.0.0:8080", "", true},
		{"", "[::]:8080", "", true},
		{"10.1.2.3:8080", "0.0.0.0:8080", "10.1.2.3:8080", false},
		{"nohost", "127.0.0.1:8080", "", true},
	} {
		got, err := advertised(tt.explicit, tcp(tt.ln))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("advertised(%q, %s) = %q, %v", tt.explicit, tt.ln, got, err)
		}
	}
}
