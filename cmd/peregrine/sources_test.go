package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/config"
)

func TestCheckSources(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		warn []string
		errs []string
	}{
		{name: "typo turning authentication off", yaml: `
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    init_config: {bearer_token: ["abc"], sslCertificat: /etc/falco/falco.pem}
    open_params: "http://:9765/k8s-audit"
`, warn: []string{
			`plugin k8saudit: init_config key "bearer_token" is not used by k8saudit; ignored (did you mean "bearer_tokens"?)`,
			`plugin k8saudit: init_config key "sslCertificat" is not used by k8saudit; ignored (did you mean "sslCertificate"?)`,
		}},
		{name: "wrong-typed value", yaml: `
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    init_config: {maxEventSize: "big"}
`, errs: []string{`plugin k8saudit: init_config.maxEventSize: "big" is not an integer`}},
		{name: "JSON init_config", yaml: `
plugins:
  - name: k8saudit-eks
    library_path: libk8saudit-eks.so
    init_config: '{"regoin": "us-east-1", "shift": "soon"}'
    open_params: my-cluster
`, warn: []string{`plugin k8saudit-eks: init_config key "regoin" is not used by k8saudit-eks; ignored (did you mean "region"?)`},
			errs: []string{`plugin k8saudit-eks: init_config.shift: "soon" is not a number`}},
		{name: "bad JSON init_config", yaml: `
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    init_config: '{"maxEventSize": '
`, errs: []string{"plugin k8saudit: init_config: init_config of k8saudit: unexpected end of JSON input"}},
		{name: "only loaded plugins", yaml: `
plugins:
  - name: k8saudit-gke
    library_path: libk8saudit-gke.so
    init_config: {projectId: p}
  - name: kafka
    library_path: ""
    init_config: {brokers: "k:9092", topic: audit}
    open_params: audit
load_plugins: [kafka]
`, warn: []string{`plugin kafka: init_config key "topic" is not used by kafka; ignored (did you mean "topics"?)`}},
		{name: "json and unknown plugins skipped", yaml: `
plugins:
  - name: json
    library_path: libjson.so
    init_config: {anything: 1}
  - name: k8saudit-ovh
    library_path: libk8saudit-ovh.so
    init_config: {anything: 1}
  - name: cloudtrail
    library_path: libcloudtrail.so
    init_config: {anything: 1}
`},
		{name: "no plugins", yaml: "json_output: true\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(writeFile(t, "falco.yaml", tc.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			warn, errs := checkSources(cfg)
			if !slices.Equal(warn, tc.warn) {
				t.Errorf("warnings\n  %q\nwant\n  %q", warn, tc.warn)
			}
			if got := errStrings(errs); !slices.Equal(got, tc.errs) {
				t.Errorf("errors\n  %q\nwant\n  %q", got, tc.errs)
			}
		})
	}
}

func errStrings(errs []error) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// TestSourcesCheckEveryOpener: a source `run` can open has a check, so
// that `validate -c` reads its configuration too.
func TestSourcesCheckEveryOpener(t *testing.T) {
	checks := checkers()
	var missing []string
	for name := range openers() {
		if checks[name] == nil {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("sources without a check: %v", missing)
	}
}

// TestCheckSourcesSeeds: the configurations users have (the seeds'
// falco.yaml snippets, upstream's configs) pass without a warning.
func TestCheckSourcesSeeds(t *testing.T) {
	shared := config.SharedDir("../..")
	if shared == "" {
		t.Skip("../shared is absent (set PEREGRINE_SHARED): no seed configs to check")
	}
	paths := seedSnippets(t, shared)
	paths = append(paths, filepath.Join(shared, "upstream/configs/falco-test/k8s_audit.yaml"),
		filepath.Join(shared, "upstream/configs/k8saudit-gke/falco.yaml"))
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			setSeedEnv(t, p)
			cfg, err := config.Load(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			warn, errs := checkSources(cfg)
			if len(warn) > 0 || len(errs) > 0 {
				t.Errorf("warnings %q, errors %q", warn, errStrings(errs))
			}
		})
	}
}

// seedSnippets writes the falco.yaml snippets of the seeds that have
// some to files, as config/seeds_test.go does.
func seedSnippets(t *testing.T, shared string) []string {
	dir := t.TempDir()
	var paths []string
	for _, prefix := range []string{"000", "001", "003", "004"} {
		ms, _ := filepath.Glob(filepath.Join(shared, "seeds", prefix+"_*"))
		for _, m := range ms {
			b, err := os.ReadFile(m)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range config.SeedConfigs(string(b)) {
				p := filepath.Join(dir, fmt.Sprintf("%s-%d.yaml", prefix, i))
				if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
		}
	}
	if len(paths) == 0 {
		t.Fatalf("no falco.yaml snippet in %s/seeds", shared)
	}
	return paths
}

var envRef = regexp.MustCompile(`\$\{(\w+)\}`)

// setSeedEnv gives each ${VAR} of the file a value, as a deployment does
// (seed 000's AKS connection strings come from the environment).
func setSeedEnv(t *testing.T, path string) {
	b, _ := os.ReadFile(path)
	for _, m := range envRef.FindAllStringSubmatch(string(b), -1) {
		t.Setenv(m[1], strings.ToLower(m[1]))
	}
}
