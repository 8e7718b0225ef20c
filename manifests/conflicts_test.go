package manifests

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestConflictsNameBothPlaces(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"one fixed service port in two apps", map[string]string{
			"apps/a.yaml": "kind: App\nid: /a\ncmd: a\nportDefinitions:\n  - port: 33180\n",
			"apps/b.yaml": "kind: App\nid: /b\ncmd: b\nportDefinitions:\n  - port: 33180\n",
		}, []string{"apps/b.yaml:5:11: portDefinitions[0].port: service port 33180 is also declared by app /a at apps/a.yaml:5:11 (portDefinitions[0].port)"}},
		{"bridge service ports", map[string]string{
			"apps/a.yaml": "kind: App\nid: /a\ncontainer:\n  type: DOCKER\n  docker: {image: x, network: BRIDGE}\n  portMappings:\n    - {containerPort: 80, servicePort: 10001}\n",
			"apps/b.yaml": "kind: App\nid: /b\ncontainer:\n  type: DOCKER\n  docker: {image: x, network: BRIDGE}\n  portMappings:\n    - {containerPort: 80, servicePort: 10001}\n",
		}, []string{"apps/b.yaml:", "container.portMappings[0].servicePort: service port 10001 is also declared by app /a at apps/a.yaml:7:"}},
		{"two templates, one destination", map[string]string{
			"t/a.yaml": "kind: Template\nid: a\ncontents: x\ndestination: /etc/nginx/conf.d/up.conf\n",
			"t/b.yaml": "kind: Template\nid: b\ncontents: y\ndestination: /etc/nginx/conf.d/up.conf\n",
		}, []string{"t/b.yaml:4:14: destination: /etc/nginx/conf.d/up.conf is also the destination of template /a at t/a.yaml:4:14"}},
		{"a job parent cycle", map[string]string{
			"jobs/a.yaml": "kind: Job\nname: a\ncommand: x\nparents: [b]\n",
			"jobs/b.yaml": "kind: Job\nname: b\ncommand: x\nparents: [a]\n",
		}, []string{"parent cycle"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			_, err := Load(fsys)
			if err == nil {
				t.Fatal("loaded without an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// Different nodes may share a destination; 0 asks for a port.
	ok := fstest.MapFS{
		"t/a.yaml":    {Data: []byte("kind: Template\nid: a\ncontents: x\ndestination: /etc/up.conf\nconstraints: [[hostname, IS, edge-1]]\n")},
		"t/b.yaml":    {Data: []byte("kind: Template\nid: b\ncontents: y\ndestination: /etc/up.conf\nconstraints: [[hostname, IS, edge-2]]\n")},
		"apps/a.yaml": {Data: []byte("kind: App\nid: /a\ncmd: a\nportDefinitions:\n  - port: 0\n")},
		"apps/b.yaml": {Data: []byte("kind: App\nid: /b\ncmd: b\nportDefinitions:\n  - port: 0\n")},
	}
	if _, err := Load(ok); err != nil {
		t.Fatalf("valid set refused: %v", err)
	}
}
