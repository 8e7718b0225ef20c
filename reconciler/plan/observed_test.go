package plan

import (
	"strings"
	"testing"
)

func TestReadObserved(t *testing.T) {
	good := `{"applied": {"apps": [{"id": "/web", "instances": 2, "tasksRunning": 2, "version": "x"}]},
	 "apps": {"/web": {"tasksRunning": 2, "tasksHealthy": 1}},
	 "jobs": {"etl": {"successCount": 3, "lastError": "2026-01-01T00:00:00Z"}}}`
	o, err := ReadObserved("state.json", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Applied.Apps) != 1 || o.Applied.Apps[0].Instances != 2 || o.Apps["/web"].TasksHealthy != 1 || o.Jobs["etl"].SuccessCount != 3 {
		t.Fatalf("decoded %+v", o)
	}
	for _, tt := range []struct{ in, want string }{
		{"{\n  \"applied\": {\"apps\": [{\"id\": 3}]}}", "state.json:2:"},
		{"{\n\n  \"applied\": [}", "state.json:3:"},
		{"{} {}", "state.json:1:4: unexpected data"},
		{"", "state.json"},
	} {
		_, err := ReadObserved("state.json", []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadObserved(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

// FuzzReadObserved: no input may panic the decoder or the planner fed with it.
func FuzzReadObserved(f *testing.F) {
	f.Add([]byte(`{"applied":{"apps":[{"id":"/a","instances":1,"dependencies":["/b"]},{"id":"/b","dependencies":["/a"]}]},"apps":{"/a":{"tasksRunning":1}}}`))
	f.Add([]byte(`{"applied":{"jobs":[{"name":"a","parents":["a"]}],"queues":[{"id":"q"}]}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ReadObserved("f.json", data)
		if err != nil {
			return
		}
		p := Compute(o.Applied, Observed{})
		_ = Compute(nil, o)
		var b strings.Builder
		if err := WriteText(&b, p, Header{}, TextOptions{Color: true}); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&b, p, Header{}); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&b, p, Header{}); err != nil {
			t.Fatal(err)
		}
	})
}
