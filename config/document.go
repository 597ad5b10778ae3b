package config

import (
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/peregrine-sec/peregrine/rules"
)

// document is the configuration as YAML nodes before it is decoded: the
// main file, the config_files merged in, the -o options applied. It is
// kept as nodes, not as a map, because nodes remember their line and
// column: a problem found after merging can still name the file and line
// that set the value. origin says which file (or option) each node came
// from, since one merged tree holds nodes of several files.
type document struct {
	main   string                // the main file; "" without -c
	root   *yaml.Node            // the top-level mapping
	origin map[*yaml.Node]string // a file name, or "-o KEY=VALUE"
	files  []string              // the files read, main file first
	notes  []Diag                // warnings found while building it
}

func newDocument(main string) *document {
	return &document{main: main, root: newNode(yaml.MappingNode, ""), origin: map[*yaml.Node]string{}}
}

// readFile reads one configuration file as its top-level mapping, with
// ${VAR} expanded; a variable that is not set is a note (it expands to
// "", which a source then reports as a missing value).
func (d *document) readFile(path string) (*yaml.Node, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, yamlError(path, err)
	}
	root, err := topMapping(path, &doc)
	if err != nil {
		return nil, err
	}
	expandNode(root, func(name string, n *yaml.Node) {
		d.notes = append(d.notes, Diag{Pos: rules.Position{File: path, Line: n.Line, Col: n.Column}, Warning: true,
			Msg: fmt.Sprintf("environment variable %s is not set: ${%s} reads as the empty string", name, name)})
	})
	// Duplicate keys and the like show only when decoding: check each file
	// alone, while the lines still belong to it.
	var check map[string]any
	if err := root.Decode(&check); err != nil {
		return nil, yamlError(path, err)
	}
	return root, nil
}

// topMapping returns the document's mapping; an empty file is an empty one.
func topMapping(path string, doc *yaml.Node) (*yaml.Node, error) {
	if len(doc.Content) == 0 {
		return newNode(yaml.MappingNode, ""), nil
	}
	root := doc.Content[0]
	switch {
	case root.Kind == yaml.MappingNode:
		return root, nil
	case isNull(root):
		return newNode(yaml.MappingNode, ""), nil
	}
	return nil, errorAt(rules.Position{File: path, Line: root.Line, Col: root.Column},
		"expected a mapping of configuration keys, got %s", kindName(root))
}

// mark records that n and everything below it came from where.
func (d *document) mark(n *yaml.Node, where string) {
	d.origin[n] = where
	for _, c := range n.Content {
		d.mark(c, where)
	}
}

// decodeRaw gives the document as the map the decoder reads.
func (d *document) decodeRaw() (map[string]any, error) {
	raw := map[string]any{}
	if err := d.root.Decode(&raw); err != nil {
		return nil, yamlError(d.main, err)
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return raw, nil
}

// pos returns where the key at path (-o syntax) was written: its key node
// for a name, its element for an index. When the path goes further than
// the document, the deepest part found is the answer; with nothing found,
// the main file.
func (d *document) pos(path string) rules.Position {
	if d == nil {
		return rules.Position{}
	}
	steps, err := parseKey(path)
	var at *yaml.Node
	for n := d.root; err == nil && len(steps) > 0; steps = steps[1:] {
		key, child := lookup(n, steps[0])
		if child == nil {
			break
		}
		at, n = key, child
	}
	if at == nil {
		return rules.Position{File: d.main}
	}
	return d.place(at)
}

// place is a node's position; an option's nodes have no line.
func (d *document) place(n *yaml.Node) rules.Position {
	where, ok := d.origin[n]
	if !ok {
		where = d.main
	}
	if isOption(where) {
		return rules.Position{File: where}
	}
	return rules.Position{File: where, Line: n.Line, Col: n.Column}
}

func isOption(where string) bool { return strings.HasPrefix(where, "-o ") }

// lookup finds one step below n: for a name, the key node and its value;
// for an index, the element twice. Aliases are followed.
func lookup(n *yaml.Node, s step) (at, child *yaml.Node) {
	n = deref(n)
	switch {
	case s.name != "" && n.Kind == yaml.MappingNode:
		if j := pairIndex(n, s.name); j >= 0 {
			return n.Content[j], n.Content[j+1]
		}
	case s.name == "" && n.Kind == yaml.SequenceNode && s.index >= 0 && s.index < len(n.Content):
		e := n.Content[s.index]
		return e, e
	}
	return nil, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// pairIndex is the index in m.Content of the key named key, or -1.
func pairIndex(m *yaml.Node, key string) int {
	for j := 0; j+1 < len(m.Content); j += 2 {
		if m.Content[j].Value == key {
			return j
		}
	}
	return -1
}

// value returns the value of key in mapping m, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	if j := pairIndex(m, key); j >= 0 {
		return m.Content[j+1]
	}
	return nil
}

func removeKey(m *yaml.Node, key string) {
	if j := pairIndex(m, key); j >= 0 {
		m.Content = append(m.Content[:j], m.Content[j+2:]...)
	}
}

func newNode(kind yaml.Kind, value string) *yaml.Node {
	tags := map[yaml.Kind]string{yaml.MappingNode: "!!map", yaml.SequenceNode: "!!seq", yaml.ScalarNode: "!!str"}
	return &yaml.Node{Kind: kind, Tag: tags[kind], Value: value}
}

func nullNode() *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"} }

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch deref(n).Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a value"
}

// adoptLegacyWebserver moves top-level webserver keys under webserver:
// when the document has a top-level k8s_audit_endpoint: a pasted snippet
// of Falco <= 0.31's layout (seed 004, whose "webserver:" line the scraped
// page lost) then does what its author meant, with one warning that says
// where the keys belong. A key the webserver block sets wins. The key
// nodes move with their values, so later problems still point at them.
func (d *document) adoptLegacyWebserver() {
	j := pairIndex(d.root, "k8s_audit_endpoint")
	if j < 0 {
		return
	}
	at := d.place(d.root.Content[j])
	ws := value(d.root, "webserver")
	switch {
	case ws == nil:
		// The new block's key stands where the endpoint was written.
		ep := d.root.Content[j]
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "webserver", Line: ep.Line, Column: ep.Column}
		ws = newNode(yaml.MappingNode, "")
		d.origin[key], d.origin[ws] = d.origin[ep], d.origin[ep]
		d.root.Content = append(d.root.Content, key, ws)
	case isNull(ws):
		*ws = *newNode(yaml.MappingNode, "")
	case ws.Kind != yaml.MappingNode:
		return // the decoder reports webserver's type
	}
	var moved []string
	for _, k := range append(sortedKeys(legacyWebserverKeys), "enabled") {
		j := pairIndex(d.root, k)
		if j < 0 {
			continue
		}
		if pairIndex(ws, k) < 0 {
			ws.Content = append(ws.Content, d.root.Content[j], d.root.Content[j+1])
		}
		removeKey(d.root, k)
		moved = append(moved, k)
	}
	d.notes = append(d.notes, Diag{Pos: at, Warning: true, Msg: "config keys " + strings.Join(moved, ", ") +
		" belong under webserver: (Falco <= 0.31 layout); read as webserver." + strings.Join(moved, ", webserver.")})
}

// legacyWebserverKeys are the keys of seed 004's snippet (Falco <= 0.31's
// webserver block).
var legacyWebserverKeys = map[string]bool{
	"listen_port": true, "k8s_audit_endpoint": true, "ssl_enabled": true, "ssl_certificate": true,
}
