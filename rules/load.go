package rules

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Source is one rules file's content. Name appears in every position.
type Source struct {
	Name string
	Data []byte
}

// Options says which Falco engine and plugins the loader stands in for.
type Options struct {
	// EngineVersion is checked against required_engine_version;
	// DefaultEngineVersion when empty.
	EngineVersion string
	// Plugins maps plugin names to the versions we act as, checked against
	// required_plugin_versions; DefaultPlugins when nil. A non-nil map
	// replaces the default, it is not merged with it.
	Plugins map[string]string
}

// DefaultEngineVersion is the Falco engine version Peregrine claims.
const DefaultEngineVersion = "0.63.0"

// DefaultPlugins returns the plugins Peregrine acts as: the k8saudit family
// and json at the versions RULES-LANGUAGE.md was checked against.
func DefaultPlugins() map[string]string {
	return map[string]string{
		"k8saudit": "0.18.0", "k8saudit-eks": "0.12.0", "k8saudit-aks": "0.6.0",
		"k8saudit-gke": "0.9.0", "k8saudit-ovh": "0.6.0", "json": "0.7.4",
	}
}

// Load reads the files in order into one Collection, as Falco does with
// repeated -r options: a later file may append to, override or redefine
// what an earlier one defined. Like Falco it stops at the first error of a
// file (later documents of that file are skipped) and at the first file
// that fails; the Collection then holds what was loaded until that point.
// Plugin requirements are checked once every file has loaded. The
// Collection is never nil; the Report holds every error and warning.
func Load(files []Source, opts Options) (*Collection, *Report) {
	col, rep := newCollection(), &Report{}
	engine, ok := parseVersion(opts.EngineVersion)
	if opts.EngineVersion == "" {
		engine, ok = parseVersion(DefaultEngineVersion)
	}
	if !ok {
		rep.Add(Diag{Code: CodeValidate, Msg: "invalid engine version option '" + opts.EngineVersion + "'"})
		return col, rep
	}
	plugins := opts.Plugins
	if plugins == nil {
		plugins = DefaultPlugins()
	}
	for _, f := range files {
		rep.addFile(f.Name)
		col.Files = append(col.Files, f.Name)
		l := &fileLoader{src: newSource(f.Name, utf8Text(f.Data)), col: col, rep: rep, engine: engine}
		if err := l.load(); err != nil {
			rep.Add(err.(*loadError).Diag)
			return col, rep
		}
	}
	checkPlugins(col, plugins, rep)
	return col, rep
}

// fileLoader reads one file into the shared collection.
type fileLoader struct {
	src    *source
	col    *Collection
	rep    *Report
	engine version
	spent  int // elements visited, to stop alias bombs
}

// load parses every document first, as yaml-cpp's LoadAll does, so a
// syntax error anywhere means nothing of the file is used.
func (l *fileLoader) load() error {
	docs, err := l.parse()
	if err != nil {
		return err
	}
	for _, doc := range docs {
		if err := l.document(doc); err != nil {
			return err
		}
	}
	return nil
}

// yamlLine is how yaml.v3 places a message: "yaml: line 2: ...", or
// "line 2: ..." in the entries of a *yaml.TypeError.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// YAMLLine splits a yaml.v3 message into the 1-based line it names (0
// when none) and the message without its "yaml: line N:" prefix.
func YAMLLine(msg string) (int, string) {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, msg[len(m[0]):]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

func (l *fileLoader) parse() (docs []*yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(l.src.raw))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, l.parseError(err)
		}
		docs = append(docs, &n)
	}
}

// parseError turns the YAML library's "yaml: line N: msg" into a
// positioned LOAD_ERR_YAML_PARSE; the line is kept inside the file.
func (l *fileLoader) parseError(err error) error {
	line, msg := YAMLLine(err.Error())
	line = min(max(line, 1), max(l.src.lines(), 1))
	d := Diag{Pos: Position{File: l.src.name, Line: line, Col: 1}, Code: CodeYAMLParse, Msg: msg}
	return &loadError{d}
}

// document reads one YAML document: null is skipped, a sequence holds the
// items, anything else is an error.
func (l *fileLoader) document(doc *yaml.Node) error {
	if len(doc.Content) == 0 {
		return nil
	}
	n := deref(doc.Content[0])
	switch {
	case isNull(n):
		return nil
	case n.Kind == yaml.ScalarNode:
		return l.invalid(n, "", "Rules content is not yaml")
	case n.Kind != yaml.SequenceNode:
		return l.invalid(n, "", "Rules content is not yaml array of objects")
	}
	if err := l.spend(n, len(n.Content)); err != nil {
		return err
	}
	for _, e := range n.Content {
		e = deref(e)
		if isNull(e) {
			continue
		}
		if err := l.item(e); err != nil {
			return err
		}
	}
	return nil
}

// itemKinds are the keys that name an item's kind, in the order Falco
// checks them: the first one present wins.
var itemKinds = []string{"required_engine_version", "required_plugin_versions", "list", "macro", "rule"}

// knownKeys are the keys each kind of item may carry; others are warned
// about and ignored.
var knownKeys = map[string][]string{
	"required_engine_version":  {"required_engine_version"},
	"required_plugin_versions": {"required_plugin_versions"},
	"list":                     {"list", "items", "append", "override"},
	"macro":                    {"macro", "condition", "append", "override"},
	"rule": {"rule", "condition", "output", "desc", "priority", "source", "enabled", "tags",
		"exceptions", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration",
		"append", "override"},
}

func (l *fileLoader) item(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return l.invalid(n, "", "Unexpected element type. Each element should be a yaml associative array.")
	}
	for _, kind := range itemKinds {
		if _, v := lookup(n, kind); v != nil {
			l.unknownKeys(n, kind)
			return l.readers()[kind](n)
		}
	}
	l.warn(n, WarnUnknownItem, "", "Unknown top level item")
	return nil
}

func (l *fileLoader) readers() map[string]func(*yaml.Node) error {
	return map[string]func(*yaml.Node) error{
		"required_engine_version":  l.engineVersion,
		"required_plugin_versions": l.pluginVersions,
		"list":                     l.list,
		"macro":                    l.macro,
		"rule":                     l.rule,
	}
}

func (l *fileLoader) unknownKeys(n *yaml.Node, kind string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k.Kind == yaml.ScalarNode && contains(knownKeys[kind], k.Value) {
			continue
		}
		name := k.Value
		if k.Kind != yaml.ScalarNode {
			name = "<" + kindName(k) + ">"
		}
		l.warn(k, WarnUnknownKey, "", "Unknown key '"+name+"'. The key will be ignored.")
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	}
	return fmt.Sprintf("node kind %d", n.Kind)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// maxSpendFactor bounds the elements visited per byte of input. Without
// aliases each element costs at least a byte; aliases can repeat a large
// sequence many times (a "billion laughs"), which this stops.
const maxSpendFactor = 16

// spend counts n elements about to be visited under node at.
func (l *fileLoader) spend(at *yaml.Node, n int) error {
	l.spent += n
	if l.spent > maxSpendFactor*len(l.src.raw)+1000 {
		return l.fail(at, CodeYAMLParse, "", "document contains excessive aliasing")
	}
	return nil
}

// utf8Text returns the file as UTF-8 without a byte order mark. The YAML
// parser decodes UTF-16 and drops the mark by itself; doing it first keeps
// the bytes positions are mapped in the same as the ones it counts lines
// and columns in. Malformed UTF-16 is left alone for the parser to reject.
func utf8Text(b []byte) []byte {
	if bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		return b[3:]
	}
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		order = binary.BigEndian
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		order = binary.LittleEndian
	default:
		return b
	}
	if out, ok := decodeUTF16(b[2:], order); ok {
		return out
	}
	return b
}

// decodeUTF16 converts strictly: an odd length or a lone surrogate fails.
func decodeUTF16(b []byte, order binary.ByteOrder) ([]byte, bool) {
	if len(b)%2 != 0 {
		return nil, false
	}
	units := make([]uint16, 0, len(b)/2)
	for i := 0; i < len(b); i += 2 {
		units = append(units, order.Uint16(b[i:]))
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(units); i++ {
		r := rune(units[i])
		if utf16.IsSurrogate(r) {
			if i+1 >= len(units) {
				return nil, false
			}
			if r = utf16.DecodeRune(r, rune(units[i+1])); r == utf8.RuneError {
				return nil, false
			}
			i++
		}
		out = utf8.AppendRune(out, r)
	}
	return out, true
}
