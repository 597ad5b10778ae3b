package enginetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/peregrine-sec/peregrine/rules"
)

// suiteError is a problem in a test file, printed as FILE:LINE:COL: msg.
type suiteError struct {
	path      string
	line, col int
	msg       string
}

func (e *suiteError) Error() string {
	return rules.Position{File: e.path, Line: e.line, Col: e.col}.String() + ": " + e.msg
}

type suiteParser struct{ path string }

func (p *suiteParser) errorf(n *yaml.Node, format string, args ...any) error {
	return &suiteError{path: p.path, line: n.Line, col: n.Column, msg: fmt.Sprintf(format, args...)}
}

// ParseSuite parses a test file's content; path names it in errors and
// anchors the relative paths inside it.
func ParseSuite(path string, data []byte) (*Suite, error) {
	p := &suiteParser{path: path}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := rules.YAMLLine(err.Error())
		return nil, &suiteError{path: path, line: line, msg: msg}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty test file", path)
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, p.errorf(root, "a test file is a mapping with a cases key")
	}
	s := &Suite{Path: path}
	var cases *yaml.Node
	err := p.fields(root, "test file", func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "rules":
			s.Rules, err = p.strings(v)
		case "append":
			s.Append, err = p.scalar(v)
		case "rule_matching":
			var m string
			if m, err = p.scalar(v); err == nil {
				switch strings.ToLower(m) {
				case "first":
				case "all":
					s.MatchAll = true
				default:
					err = p.errorf(v, "rule_matching must be first or all, not %q", m)
				}
			}
		case "defaults":
			s.Defaults, err = p.object(v)
		case "cases":
			cases = v
		default:
			return p.errorf(k, "unknown key %q in test file (want rules, append, rule_matching, defaults, cases)", key)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if cases == nil || cases.Kind != yaml.SequenceNode || len(cases.Content) == 0 {
		return nil, p.errorf(root, "a test file needs a non-empty cases list")
	}
	seen := map[string]bool{}
	for i, cn := range cases.Content {
		c, err := p.testCase(s, deref(cn), i)
		if err != nil {
			return nil, err
		}
		if seen[c.Name] {
			return nil, p.errorf(cn, "two cases are named %q", c.Name)
		}
		seen[c.Name] = true
		s.Cases = append(s.Cases, c)
	}
	return s, nil
}

func (p *suiteParser) testCase(s *Suite, n *yaml.Node, index int) (*Case, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errorf(n, "a case is a mapping with name, events and expect")
	}
	c := &Case{Line: n.Line}
	var defaults *jsonValue
	var events *yaml.Node
	err := p.fields(n, "case", func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "name":
			c.Name, err = p.scalar(v)
		case "defaults":
			defaults, err = p.object(v)
		case "events":
			events = v
		case "files":
			c.Files, err = p.strings(v)
		case "expect":
			c.Expect, err = p.expectations(v)
		case "ignore_other_rules":
			err = v.Decode(&c.IgnoreOtherRules)
			if err != nil {
				err = p.errorf(v, "ignore_other_rules must be true or false")
			}
		default:
			return p.errorf(k, "unknown key %q in case (want name, defaults, events, files, expect, ignore_other_rules)", key)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if c.Name == "" {
		return nil, p.errorf(n, "case %d has no name", index+1)
	}
	if events == nil && len(c.Files) == 0 {
		return nil, p.errorf(n, "case %q has neither events nor files", c.Name)
	}
	if events != nil {
		events = deref(events)
		if events.Kind != yaml.SequenceNode {
			return nil, p.errorf(events, "events is a list of events")
		}
		for i, en := range events.Content {
			ev, err := p.event(s, defaults, c, deref(en), index, i)
			if err != nil {
				return nil, err
			}
			c.Events = append(c.Events, ev)
		}
	}
	return c, nil
}

// event builds one inline event: a mapping is merged over the built-in
// envelope, the file's defaults and the case's defaults, then written as
// compact JSON in key order; a string is raw JSON, used as written.
func (p *suiteParser) event(s *Suite, caseDefaults *jsonValue, c *Case, n *yaml.Node, caseIndex, i int) ([]byte, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		return []byte(strings.TrimSpace(n.Value)), nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errorf(n, "an event is a mapping, or a string of raw JSON")
	}
	ev, err := p.object(n)
	if err != nil {
		return nil, err
	}
	v := envelope(caseIndex, i)
	v = merge(v, s.Defaults)
	v = merge(v, caseDefaults)
	v = merge(v, ev)
	var b bytes.Buffer
	v.write(&b)
	return b.Bytes(), nil
}

// envelope is what every inline event starts from: the fields the audit
// decoder and most rules need, with a unique auditID and one second
// between events.
func envelope(caseIndex, i int) *jsonValue {
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).
		Add(time.Duration(caseIndex)*time.Minute + time.Duration(i)*time.Second).
		Format("2006-01-02T15:04:05.000000Z")
	v := &jsonValue{kind: jsonObject}
	v.set("kind", jsonString("Event"))
	v.set("apiVersion", jsonString("audit.k8s.io/v1"))
	v.set("auditID", jsonString(fmt.Sprintf("test-%d-%d", caseIndex+1, i+1)))
	v.set("stage", jsonString("ResponseComplete"))
	v.set("requestReceivedTimestamp", jsonString(ts))
	v.set("stageTimestamp", jsonString(ts))
	return v
}

func (p *suiteParser) expectations(n *yaml.Node) ([]Expectation, error) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return nil, p.errorf(n, "expect is a list of rules with counts")
	}
	var out []Expectation
	seen := map[string]bool{}
	for _, en := range n.Content {
		en = deref(en)
		e := Expectation{Count: 1, Line: en.Line}
		switch en.Kind {
		case yaml.ScalarNode:
			e.Rule = en.Value
		case yaml.MappingNode:
			err := p.fields(en, "expectation", func(key string, k, v *yaml.Node) error {
				var err error
				switch key {
				case "rule":
					e.Rule, err = p.scalar(v)
				case "count":
					if err = v.Decode(&e.Count); err != nil || e.Count < 0 {
						err = p.errorf(v, "count must be a whole number, 0 or more")
					}
				case "priority":
					e.Priority, err = p.scalar(v)
				case "output":
					e.Output, err = p.strings(v)
				case "not_output":
					e.NotOutput, err = p.strings(v)
				default:
					return p.errorf(k, "unknown key %q in expectation (want rule, count, priority, output, not_output)", key)
				}
				return err
			})
			if err != nil {
				return nil, err
			}
		default:
			return nil, p.errorf(en, "an expectation is a rule name or a mapping with rule and count")
		}
		if e.Rule == "" {
			return nil, p.errorf(en, "an expectation needs a rule")
		}
		if seen[e.Rule] {
			return nil, p.errorf(en, "rule %q is expected twice in one case", e.Rule)
		}
		seen[e.Rule] = true
		out = append(out, e)
	}
	return out, nil
}

// fields calls f for each key of a mapping, resolving aliases.
func (p *suiteParser) fields(n *yaml.Node, what string, f func(key string, k, v *yaml.Node) error) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if seen[k.Value] {
			return p.errorf(k, "key %q appears twice in %s", k.Value, what)
		}
		seen[k.Value] = true
		if err := f(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *suiteParser) scalar(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errorf(n, "expected a single value")
	}
	return n.Value, nil
}

// strings reads a list of scalars, or one scalar as a list of one.
func (p *suiteParser) strings(n *yaml.Node) ([]string, error) {
	if n.Kind == yaml.ScalarNode {
		s, err := p.scalar(n)
		return []string{s}, err
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.errorf(n, "expected a list of values")
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		s, err := p.scalar(deref(c))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// jsonValue is a JSON value that keeps the key order written in YAML, so
// that request bodies read as they would from the API server.
type jsonValue struct {
	kind   jsonKind
	keys   []string
	fields map[string]*jsonValue
	items  []*jsonValue
	raw    string // the JSON text of a scalar
}

type jsonKind uint8

const (
	jsonScalar jsonKind = iota
	jsonNull
	jsonObject
	jsonArray
)

func jsonString(s string) *jsonValue {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return &jsonValue{kind: jsonScalar, raw: strings.TrimSuffix(b.String(), "\n")}
}

func (v *jsonValue) set(k string, x *jsonValue) {
	if v.fields == nil {
		v.fields = map[string]*jsonValue{}
	}
	if _, ok := v.fields[k]; !ok {
		v.keys = append(v.keys, k)
	}
	v.fields[k] = x
}

func (v *jsonValue) del(k string) {
	if _, ok := v.fields[k]; !ok {
		return
	}
	delete(v.fields, k)
	for i, kk := range v.keys {
		if kk == k {
			v.keys = append(v.keys[:i:i], v.keys[i+1:]...)
			break
		}
	}
}

// merge lays over on top of base: objects merge key by key (recursively),
// a null deletes a key base has (elsewhere it stays a JSON null), anything
// else replaces. Neither input changes.
func merge(base, over *jsonValue) *jsonValue {
	if over == nil {
		return base
	}
	if base == nil || base.kind != jsonObject || over.kind != jsonObject {
		return over
	}
	out := &jsonValue{kind: jsonObject}
	for _, k := range base.keys {
		out.set(k, base.fields[k])
	}
	for _, k := range over.keys {
		ov := over.fields[k]
		switch {
		case ov.kind == jsonNull && out.fields[k] != nil:
			out.del(k)
		case out.fields[k] != nil:
			out.set(k, merge(out.fields[k], ov))
		default:
			out.set(k, ov)
		}
	}
	return out
}

func (v *jsonValue) write(b *bytes.Buffer) {
	switch v.kind {
	case jsonNull:
		b.WriteString("null")
	case jsonScalar:
		b.WriteString(v.raw)
	case jsonArray:
		b.WriteByte('[')
		for i, it := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			it.write(b)
		}
		b.WriteByte(']')
	case jsonObject:
		b.WriteByte('{')
		n := 0
		for _, k := range v.keys {
			f := v.fields[k]
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			b.WriteString(jsonString(k).raw)
			b.WriteByte(':')
			f.write(b)
		}
		b.WriteByte('}')
	}
}

// object converts a YAML mapping to a jsonValue; "<<" merge keys take the
// aliased mapping as a base.
func (p *suiteParser) object(n *yaml.Node) (*jsonValue, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, p.errorf(n, "expected a mapping")
	}
	return p.value(n)
}

func (p *suiteParser) value(n *yaml.Node) (*jsonValue, error) {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		v := &jsonValue{kind: jsonObject}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, c := n.Content[i], n.Content[i+1]
			x, err := p.value(c)
			if err != nil {
				return nil, err
			}
			if k.Tag == "!!merge" {
				v = merge(x, v)
				continue
			}
			v.set(k.Value, x)
		}
		return v, nil
	case yaml.SequenceNode:
		v := &jsonValue{kind: jsonArray}
		for _, c := range n.Content {
			x, err := p.value(c)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, x)
		}
		return v, nil
	case yaml.ScalarNode:
		return p.scalarValue(n)
	}
	return nil, p.errorf(n, "unsupported YAML node")
}

func (p *suiteParser) scalarValue(n *yaml.Node) (*jsonValue, error) {
	switch n.Tag {
	case "!!null":
		return &jsonValue{kind: jsonNull, raw: "null"}, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, p.errorf(n, "bad boolean %q", n.Value)
		}
		return &jsonValue{raw: strconv.FormatBool(b)}, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return nil, p.errorf(n, "bad integer %q", n.Value)
		}
		return &jsonValue{raw: strconv.FormatInt(i, 10)}, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, p.errorf(n, "bad number %q for JSON", n.Value)
		}
		return &jsonValue{raw: strconv.FormatFloat(f, 'g', -1, 64)}, nil
	}
	return jsonString(n.Value), nil
}
