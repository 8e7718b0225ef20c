package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestServerFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"server", "--zk", ""}, "--zk is required"},
		{[]string{"server", "--zk", "http://h1/berth"}, "must start with zk://"},
		{[]string{"server", "--zk", "zk://h1:99999/berth"}, "port must be"},
		{[]string{"server", "--zk", "zk://alice:hunter2@h1:0/berth"}, "alice:***@"},
		{[]string{"server", "--zk", "zk://h1/berth", "--log-level", "loud"}, "--log-level"},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		root := newRootCmd(&out, &errb)
		root.SetArgs(tc.args)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("berth %s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("berth %s: error leaks the password: %v", strings.Join(tc.args, " "), err)
		}
	}
}
