package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Merge strategies of config_files entries, as Falco names them.
const (
	strategyAppend  = "append"   // maps merged, lists appended, scalars replaced (default)
	strategyReplace = "override" // top-level keys replaced whole
	strategyAddOnly = "add-only" // only keys not set yet are added
)

// mergeConfigFiles merges the config_files of raw (read from path) into
// raw, in order: each entry is a file or a directory (its .yaml/.yml files
// in name order), as a string or as {path, strategy}. A relative path is
// taken from the main file's directory. Missing paths are notes, not
// errors: the shipped falco.yaml names /etc/falco/config.d, which is often
// absent. It returns the files read, after those already in files.
func mergeConfigFiles(raw map[string]any, path string, files []string) ([]string, []string, error) {
	entries, err := configFileEntries(raw["config_files"])
	if err != nil {
		return files, nil, err
	}
	var notes []string
	for _, e := range entries {
		p := e.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		list, err := yamlFilesAt(p)
		if os.IsNotExist(err) {
			notes = append(notes, fmt.Sprintf("config_files: %s does not exist; skipped", p))
			continue
		}
		if err != nil {
			return files, notes, fmt.Errorf("config_files: %w", err)
		}
		for _, f := range list {
			extra, err := readFile(f)
			if err != nil {
				return files, notes, err
			}
			delete(extra, "config_files") // no nesting, as Falco
			mergeInto(raw, extra, e.strategy)
			files = append(files, f)
		}
	}
	return files, notes, nil
}

type configFile struct{ path, strategy string }

func configFileEntries(v any) ([]configFile, error) {
	var list []any
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		list = []any{v}
	case []any:
		list = v
	default:
		return nil, fmt.Errorf("config_files: expected a list")
	}
	var out []configFile
	for i, e := range list {
		cf := configFile{strategy: strategyAppend}
		switch e := e.(type) {
		case string:
			cf.path = e
		case map[string]any:
			cf.path = str(e["path"])
			if s := str(e["strategy"]); s != "" {
				cf.strategy = s
			}
		}
		if cf.path == "" {
			return nil, fmt.Errorf("config_files[%d]: expected a path", i)
		}
		switch cf.strategy {
		case strategyAppend, strategyReplace, strategyAddOnly:
		default:
			return nil, fmt.Errorf("config_files[%d]: unknown strategy %q (append, override or add-only)", i, cf.strategy)
		}
		out = append(out, cf)
	}
	return out, nil
}

// yamlFilesAt returns p itself, or the YAML files directly in directory p
// in name order.
func yamlFilesAt(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			out = append(out, filepath.Join(p, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// mergeInto merges src into dst with a strategy.
func mergeInto(dst, src map[string]any, strategy string) {
	for k, v := range src {
		old, exists := dst[k]
		switch {
		case strategy == strategyAddOnly:
			if !exists {
				dst[k] = v
			}
		case strategy == strategyReplace || !exists:
			dst[k] = v
		default:
			dst[k] = mergeValue(old, v)
		}
	}
}

func mergeValue(old, v any) any {
	switch nv := v.(type) {
	case map[string]any:
		if om, ok := old.(map[string]any); ok {
			mergeInto(om, nv, strategyAppend)
			return om
		}
	case []any:
		if ol, ok := old.([]any); ok {
			return append(ol, nv...)
		}
	}
	return v
}
