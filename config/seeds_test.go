package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedFiles writes every seed snippet and upstream config to temporary
// files, named after their origin.
func seedFiles(t *testing.T) map[string]string {
	t.Helper()
	shared := SharedDir("..")
	if shared == "" {
		t.Skip("../shared is absent: no seed configs to check")
	}
	dir := t.TempDir()
	out := map[string]string{}
	for _, prefix := range []string{"000", "001", "003", "004"} {
		matches, _ := filepath.Glob(filepath.Join(shared, "seeds", prefix+"_*"))
		for _, m := range matches {
			b, _ := os.ReadFile(m)
			snippets := SeedConfigs(string(b))
			if len(snippets) == 0 {
				t.Fatalf("seed %s: no falco.yaml snippet found", m)
			}
			for i, s := range snippets {
				p := filepath.Join(dir, prefix+"-"+string(rune('a'+i))+".yaml")
				os.WriteFile(p, []byte(s), 0o644)
				out["seed "+prefix+"/"+string(rune('a'+i))] = p
			}
		}
	}
	ups, _ := filepath.Glob(filepath.Join(shared, "upstream", "configs", "*", "*.yaml"))
	for _, u := range ups {
		b, _ := os.ReadFile(u)
		if strings.Contains(string(b), "apiVersion:") { // an audit policy, not a falco.yaml
			continue
		}
		out["upstream "+filepath.Base(filepath.Dir(u))] = u
	}
	return out
}

// TestSeedConfigsLoad loads every configuration users have: none may fail,
// and each unused key is one warning.
func TestSeedConfigsLoad(t *testing.T) {
	for name, path := range seedFiles(t) {
		t.Run(name, func(t *testing.T) {
			c, err := Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, w := range c.Warnings {
				if seen[w] {
					t.Errorf("warning repeated: %s", w)
				}
				seen[w] = true
			}
		})
	}
}

func TestSeed004Webserver(t *testing.T) {
	for name, path := range seedFiles(t) {
		if !strings.HasPrefix(name, "seed 004") {
			continue
		}
		c, err := Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		ws := c.Daemon.Webserver
		if !ws.LegacyAuditSource || ws.K8sAuditEndpoint != "/k8s_audit" || ws.ListenPort != 8765 || ws.SSLEnabled {
			t.Errorf("%s: webserver %+v", name, ws)
		}
	}
}
