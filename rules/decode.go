package rules

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// loadError is a problem that stops loading the current file. It carries a
// Diag so the caller can put it in the Report as it is.
type loadError struct{ Diag }

func (l *fileLoader) fail(n *yaml.Node, code, ctx, msg string) error {
	return &loadError{Diag{Pos: l.src.pos(n), Code: code, Msg: msg, Context: ctx}}
}

// invalid is a structural error (LOAD_ERR_YAML_VALIDATE), the commonest kind.
func (l *fileLoader) invalid(n *yaml.Node, ctx, msg string) error {
	return l.fail(n, CodeYAMLValidate, ctx, msg)
}

func (l *fileLoader) warn(n *yaml.Node, code, ctx, msg string) {
	l.rep.Add(Diag{Pos: l.src.pos(n), Code: code, Msg: msg, Context: ctx, Warning: true})
}

// deref follows aliases, as yaml-cpp does transparently.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func isScalar(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && !isNull(n) }

// lookup finds key in a mapping: the first entry with that scalar key, as
// yaml-cpp's node[key] does. It returns the key node and the value node.
func lookup(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn := deref(m.Content[i])
		if kn.Kind == yaml.ScalarNode && kn.Value == key {
			return kn, deref(m.Content[i+1])
		}
	}
	return nil, nil
}

// item is the mapping being read, with the context its messages carry.
type item struct {
	l   *fileLoader
	n   *yaml.Node
	ctx string
}

func (it item) has(key string) bool {
	_, v := lookup(it.n, key)
	return v != nil
}

// scalar reads a required or optional scalar the way Falco's decode_val
// does, with its messages. v is nil when an optional key is absent.
func (it item) scalar(key string, required bool) (s string, v *yaml.Node, err error) {
	k, v := lookup(it.n, key)
	switch {
	case v == nil && !required:
		return "", nil, nil
	case v == nil:
		return "", nil, it.l.invalid(it.n, it.ctx, "Item has no mapping for key '"+key+"'")
	case isNull(v):
		return "", nil, it.l.invalid(k, it.ctx, "Mapping for key '"+key+"' is empty")
	case v.Kind != yaml.ScalarNode:
		return "", nil, it.l.invalid(v, it.ctx, "Value is not a scalar value")
	case v.Value == "":
		return "", nil, it.l.invalid(v, it.ctx, "Value must be non-empty")
	}
	return v.Value, v, nil
}

// str reads a required non-empty string.
func (it item) str(key string) (string, *yaml.Node, error) { return it.scalar(key, true) }

// text reads a required non-empty string with its positions.
func (it item) text(key string) (Text, *yaml.Node, error) {
	_, v, err := it.scalar(key, true)
	if err != nil {
		return Text{}, nil, err
	}
	return it.l.src.text(v), v, nil
}

// boolean reads an optional bool; set tells whether the key was there.
func (it item) boolean(key string, required bool) (b, set bool, err error) {
	s, v, err := it.scalar(key, required)
	if err != nil || v == nil {
		return false, false, err
	}
	b, ok := parseCppBool(s)
	if !ok {
		return false, false, it.l.invalid(v, it.ctx, "Can't decode YAML scalar value")
	}
	return b, true, nil
}

// uint reads an optional unsigned integer of the given bit size.
func (it item) uint(key string, required bool, bits int) (u uint64, set bool, err error) {
	s, v, err := it.scalar(key, required)
	if err != nil || v == nil {
		return 0, false, err
	}
	u, ok := parseCppUint(s, bits)
	if !ok {
		return 0, false, it.l.invalid(v, it.ctx, "Can't decode YAML scalar value")
	}
	return u, true, nil
}

// strings reads a sequence of scalars (list items, tags) with Falco's
// messages; v is nil when an optional key is absent.
func (it item) strings(key string, required bool) (out []string, pos []Position, v *yaml.Node, err error) {
	_, v = lookup(it.n, key)
	switch {
	case v == nil && !required:
		return nil, nil, nil, nil
	case v == nil:
		return nil, nil, nil, it.l.invalid(it.n, it.ctx, "Item has no mapping for key '"+key+"'")
	case v.Kind != yaml.SequenceNode:
		return nil, nil, nil, it.l.invalid(v, it.ctx, "Value is not a sequence")
	}
	if err := it.l.spend(v, len(v.Content)); err != nil {
		return nil, nil, nil, err
	}
	out, pos = make([]string, 0, len(v.Content)), make([]Position, 0, len(v.Content))
	for _, e := range v.Content {
		e = deref(e)
		if !isScalar(e) {
			return nil, nil, nil, it.l.invalid(e, it.ctx, "sequence value is not scalar")
		}
		out = append(out, e.Value)
		pos = append(pos, it.l.src.pos(e))
	}
	return out, pos, v, nil
}

// parseCppBool accepts what yaml-cpp's bool conversion accepts: y/yes/
// true/on and n/no/false/off, in lower, upper or capitalised case.
func parseCppBool(s string) (bool, bool) {
	if s != strings.ToLower(s) && s != strings.ToUpper(s) &&
		s[1:] != strings.ToLower(s[1:]) {
		return false, false
	}
	switch strings.ToLower(s) {
	case "y", "yes", "true", "on":
		return true, true
	case "n", "no", "false", "off":
		return false, true
	}
	return false, false
}

// parseCppUint reads an unsigned integer the way yaml-cpp does (a C++
// stream with the base taken from the prefix): decimal, 0x hex or 0
// octal, an optional '+', trailing blanks allowed, no '-'.
func parseCppUint(s string, bits int) (uint64, bool) {
	s = strings.TrimRight(s, " \t\n\r\v\f")
	s = strings.TrimPrefix(s, "+")
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	if s == "" || strings.ContainsAny(s, "+-_") {
		return 0, false
	}
	u, err := strconv.ParseUint(s, base, bits)
	return u, err == nil
}
