package zkstore

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in      string
		want    Config
		wantErr string
	}{
		{in: "zk://127.0.0.1:2181/berth", want: Config{Servers: []string{"127.0.0.1:2181"}, Chroot: "/berth"}},
		{in: "zk://h1,h2:2182,h3:2183/a/b/", want: Config{Servers: []string{"h1:2181", "h2:2182", "h3:2183"}, Chroot: "/a/b"}},
		{in: "zk://alice:s3cr@t@h1:2181/berth", want: Config{Servers: []string{"h1:2181"}, Chroot: "/berth", User: "alice", Password: "s3cr@t"}},
		{in: "zk://alice:pa/ss@h1:2181/berth", want: Config{Servers: []string{"h1:2181"}, Chroot: "/berth", User: "alice", Password: "pa/ss"}},
		{in: "zk://alice:a/b@c:d@h1", want: Config{Servers: []string{"h1:2181"}, User: "alice", Password: "a/b@c:d"}},
		{in: "zk://[::1]:2181", want: Config{Servers: []string{"[::1]:2181"}}},
		{in: "zk://h1/", want: Config{Servers: []string{"h1:2181"}}},
		{in: "http://h1/berth", wantErr: "must start with zk://"},
		{in: "zk:///berth", wantErr: "no servers"},
		{in: "zk://h1:99999/berth", wantErr: "port must be"},
		{in: "zk://h1,,h2/berth", wantErr: "empty host"},
		{in: "zk://alice@h1/berth", wantErr: "credentials must be user:password"},
		{in: "zk://h1/a//b", wantErr: "empty path element"},
		{in: "zk://h1/zookeeper", wantErr: "reserved"},
		{in: "zk://h1/a/../b", wantErr: "not allowed"},
	}
	for _, tc := range tests {
		got, err := ParseURL(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseURL(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseURL(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParseURLHidesPassword(t *testing.T) {
	for _, in := range []string{
		"zk://alice:hunter2@h1:0/berth",
		"zk://alice:hun/ter2@h1:0/berth", // a "/" used to end the hosts early and the error quoted it all
		"zk://alice:hun/ter2@h1/a//b",
		"zk://alice:hun/ter2@/berth",
		"zk://alice:hun/ter2@h1,,h2/berth",
		"http://alice:hun/ter2@h1/berth",
	} {
		_, err := ParseURL(in)
		if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "ter2") {
			t.Errorf("ParseURL(%q): error %v leaks the password", in, err)
		}
	}
	if c, err := ParseURL("zk://alice:hun/ter2@h1/berth"); err != nil || strings.Contains(c.String(), "ter2") || c.Password != "hun/ter2" {
		t.Errorf("a password with a slash: %+v (%s), %v", c, c.String(), err)
	}
	c, _ := ParseURL("zk://alice:hunter2@h1/berth")
	if strings.Contains(c.String(), "hunter2") {
		t.Fatalf("String() %q leaks the password", c.String())
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"zk://h1:2181,h2/berth", "zk://u:p@[::1]:1/x/y", "zk://", "zk://@/", "zk://h:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseURL(s)
		if err != nil {
			return
		}
		if len(c.Servers) == 0 {
			t.Fatalf("%q parsed with no servers", s)
		}
		if c.Chroot != "" && (!strings.HasPrefix(c.Chroot, "/") || strings.HasSuffix(c.Chroot, "/")) {
			t.Fatalf("%q parsed to chroot %q", s, c.Chroot)
		}
		shown := c.String()
		if c.User != "" {
			shown = strings.Replace(shown, c.User+":***@", c.User+":"+c.Password+"@", 1)
		}
		again, err := ParseURL(shown)
		if err != nil || !cmp.Equal(c, again) {
			t.Fatalf("%q: String() %q does not parse back the same: %+v, %v", s, c.String(), again, err)
		}
	})
}
