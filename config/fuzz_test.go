package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: any document and any -o override either load or fail with an
// error that says something; neither panics.
func FuzzLoad(f *testing.F) {
	seeds := []struct{ doc, override string }{
		{"json_output: true\n", "rules[].disable.rule=*"},
		{"webserver: {listen_port: eighty}\n", "webserver.listen_port=1"},
		{"plugins:\n  - name: k8saudit\n    init_config: '{\"a\":1}'\n", "plugins[0].open_params=x"},
		{"rules:\n  - enable: {tag: k8s}\n", "rules[3].enable.rule=x"},
		{"config_files: [x.yaml]\n", "a.b.c[]=1"},
		{"- a\n- b\n", "rules.0.disable.rule=x"},
		{"\tbad: tab\n", "=x"},
		{"priority: [1, 2]\n", "append_output[].match.source=k8s_audit"},
	}
	for _, s := range seeds {
		f.Add(s.doc, s.override)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, doc, override string) {
		path := filepath.Join(dir, "falco.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, []string{override})
		if (c == nil) == (err == nil) {
			t.Fatalf("Load gave config %v and error %v: want exactly one", c != nil, err)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("an empty error message")
		}
	})
}
