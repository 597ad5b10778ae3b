package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/peregrine-sec/peregrine/rules"
)

// Merge strategies of config_files entries, as Falco names them.
const (
	strategyAppend  = "append"   // lists appended, anything else replaced whole (default)
	strategyReplace = "override" // top-level keys replaced whole
	strategyAddOnly = "add-only" // only keys not set yet are added
)

// mergeConfigFiles merges the config_files of the main file into the
// document, in order: each entry is a file or a directory (its .yaml/.yml
// files in name order), as a string or as {path, strategy}. A relative
// path is taken from the main file's directory. Missing paths are notes,
// not errors: the shipped falco.yaml names /etc/falco/config.d, which is
// often absent.
func (d *document) mergeConfigFiles() error {
	var v any
	if n := value(d.root, "config_files"); n != nil {
		if err := n.Decode(&v); err != nil {
			return yamlError(d.main, err)
		}
	}
	entries, err := configFileEntries(v)
	if err != nil {
		return d.errorFor(err)
	}
	for i, e := range entries {
		if err := d.mergeEntry(i, e); err != nil {
			return err
		}
	}
	return nil
}

func (d *document) mergeEntry(i int, e configFile) error {
	key := fmt.Sprintf("config_files[%d]", i)
	p := e.path
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(d.main), p)
	}
	list, err := yamlFilesAt(p)
	if os.IsNotExist(err) {
		d.notes = append(d.notes, Diag{Pos: d.pos(key), Warning: true, Msg: fmt.Sprintf("config_files: %s does not exist; skipped", p)})
		return nil
	}
	if err != nil {
		return &Error{Diags: []Diag{{Pos: d.pos(key), Msg: fmt.Sprintf("%s: %v", key, err)}}}
	}
	for _, f := range list {
		extra, err := d.readFile(f)
		if err != nil {
			return err
		}
		if j := pairIndex(extra, "config_files"); j >= 0 {
			k := extra.Content[j]
			return errorAt(rules.Position{File: f, Line: k.Line, Col: k.Column},
				"config_files: an included file cannot include others (Falco refuses it too); list them in %s", d.main)
		}
		d.mark(extra, f)
		mergeMapping(d.root, extra, e.strategy)
		d.files = append(d.files, f)
	}
	return nil
}

// errorFor places a problem of the document's keys.
func (d *document) errorFor(err error) *Error {
	if p, ok := err.(problem); ok {
		return &Error{Diags: []Diag{{Pos: d.pos(p.key), Msg: p.msg}}}
	}
	return &Error{Diags: []Diag{{Pos: rules.Position{File: d.main}, Msg: err.Error()}}}
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
		return nil, problem{"config_files", "config_files: expected a list of files and directories, got " + show(v)}
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
		key := fmt.Sprintf("config_files[%d]", i)
		if cf.path == "" {
			return nil, problem{key, key + ": expected a path"}
		}
		switch cf.strategy {
		case strategyAppend, strategyReplace, strategyAddOnly:
		default:
			return nil, problem{key + ".strategy", fmt.Sprintf("%s: unknown strategy %q (append, override or add-only)", key, cf.strategy)}
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

// mergeMapping merges the top-level pairs of src into dst as Falco does:
// at the root only, so a mapping such as webserver: set by a later file
// replaces the earlier one whole (Falco's documentation warns of this);
// with append, a list set by both is the two lists joined. A pair that
// replaces one brings its key node along, so the key's position is that
// of the file that set the final value.
func mergeMapping(dst, src *yaml.Node, strategy string) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		j := pairIndex(dst, k.Value)
		switch {
		case j < 0:
			dst.Content = append(dst.Content, k, v)
		case strategy == strategyAddOnly:
		case strategy == strategyAppend && dst.Content[j+1].Kind == yaml.SequenceNode && v.Kind == yaml.SequenceNode:
			dst.Content[j+1].Content = append(dst.Content[j+1].Content, v.Content...)
		default:
			dst.Content[j], dst.Content[j+1] = k, v
		}
	}
}
