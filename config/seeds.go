package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// SharedDir returns the ../shared directory beside the repository (or
// $PEREGRINE_SHARED), where the seed documents and upstream configs live;
// "" when absent. Tests use it and skip without it.
func SharedDir(repoRelative string) string {
	if d := os.Getenv("PEREGRINE_SHARED"); d != "" {
		return d
	}
	d := filepath.Join(repoRelative, "..", "shared")
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	return ""
}

var fence = regexp.MustCompile("(?s)```ya?ml\n(.*?)```")

// SeedConfigs extracts the falco.yaml snippets users copy from a seed
// document: its fenced YAML blocks that configure plugins, and the
// indented webserver snippet of the Kubernetes 1.15 page (seed 004),
// which lost its "webserver:" line when the page was scraped; that one
// comes back twice, as written and under webserver:.
func SeedConfigs(doc string) []string {
	var out []string
	for _, m := range fence.FindAllStringSubmatch(doc, -1) {
		if strings.Contains(m[1], "plugins:") {
			out = append(out, m[1])
		}
	}
	if i := strings.Index(doc, "k8s_audit_endpoint:"); i >= 0 && len(out) == 0 {
		var lines []string
		for _, l := range strings.Split(doc, "\n") {
			t := strings.TrimSpace(l)
			for _, k := range []string{"enabled:", "listen_port:", "k8s_audit_endpoint:", "ssl_enabled:", "ssl_certificate:"} {
				if strings.HasPrefix(t, k) && len(lines) < 5 {
					lines = append(lines, t)
				}
			}
		}
		snippet := strings.Join(lines, "\n") + "\n"
		out = append(out, snippet, "webserver:\n  "+strings.ReplaceAll(strings.TrimSpace(snippet), "\n", "\n  ")+"\n")
	}
	return out
}
