package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ReadPaths reads rules files named on the command line or in rules_files.
// A directory gives its *.yaml and *.yml files sorted by name, as Falco
// expands it. A named file is read whatever its extension. With
// skipMissing (rules_files in falco.yaml), a path that does not exist is
// dropped as Falco drops it, and reported in the returned notes.
func ReadPaths(paths []string, skipMissing bool) (srcs []Source, notes []string, err error) {
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			if skipMissing && os.IsNotExist(err) {
				notes = append(notes, fmt.Sprintf("rules file %s does not exist; skipped", p))
				continue
			}
			return nil, notes, err
		}
		files := []string{p}
		if st.IsDir() {
			if files, err = yamlFiles(p); err != nil {
				return nil, notes, err
			}
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, notes, err
			}
			srcs = append(srcs, Source{Name: f, Data: b})
		}
	}
	return srcs, notes, nil
}

// yamlFiles lists the rules files of a directory. Links to regular files
// count (a ConfigMap mounted as a volume is a directory of links), and
// hidden entries do not (the ConfigMap's "..data" machinery).
func yamlFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}
