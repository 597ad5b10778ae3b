package rules

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

// Falco's messages shared by lists, macros and rules.
const (
	msgAppendDeprecated = "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."
	msgOverrideAppend   = "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."
	msgNoPreviousList   = "List uses 'append' or 'override.items: append' but no list by that name already exists"
	msgNoPreviousMacro  = "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists"
)

// The name patterns are libsinsp's grammar tokens: a list name must be a
// bare string and a macro name an identifier, or conditions cannot name
// them. Falco only warns.
var (
	listNameRE  = regexp.MustCompile(`^[^()"'[:space:]=,]+$`)
	macroNameRE = regexp.MustCompile(`^[a-zA-Z]+[a-zA-Z0-9_]*$`)
)

// overrides is what an item's "override" key asks for.
type overrides struct {
	append, replace map[string]*yaml.Node // key -> the key's node under override
}

func (o overrides) any() bool { return len(o.append)+len(o.replace) > 0 }

// readOverrides reads "override: {key: append|replace}". A null or empty
// map means no override, as in Falco.
func (l *fileLoader) readOverrides(it item, appendable, replaceable []string) (overrides, error) {
	o := overrides{append: map[string]*yaml.Node{}, replace: map[string]*yaml.Node{}}
	_, v := lookup(it.n, "override")
	if isNull(v) {
		return o, nil
	}
	if v.Kind != yaml.MappingNode {
		return o, l.invalid(v, it.ctx, "Value of override must be a mapping")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		if err := l.readOverride(it, o, deref(v.Content[i]), deref(v.Content[i+1]), appendable, replaceable); err != nil {
			return o, err
		}
	}
	return o, nil
}

func (l *fileLoader) readOverride(it item, o overrides, k, op *yaml.Node, appendable, replaceable []string) error {
	key := k.Value
	if k.Kind != yaml.ScalarNode {
		key = "<" + kindName(k) + ">"
	}
	canAppend, canReplace := contains(appendable, key), contains(replaceable, key)
	switch {
	case op.Kind == yaml.ScalarNode && op.Value == "append":
		if !canAppend {
			return l.invalid(k, it.ctx, "Key '"+key+"' cannot be appended to, use 'replace' instead")
		}
		o.append[key] = k
	case op.Kind == yaml.ScalarNode && op.Value == "replace":
		if !canReplace {
			return l.invalid(k, it.ctx, "Key '"+key+"' cannot be replaced")
		}
		o.replace[key] = k
	default:
		msg := "Invalid override operation for key '" + key + "': '" + op.Value + "'. Allowed values are: "
		if canAppend {
			msg += "append "
		}
		if canReplace {
			msg += "replace "
		}
		return l.invalid(op, it.ctx, msg)
	}
	return nil
}

var listOverridable = []string{"items"}

func (l *fileLoader) list(n *yaml.Node) error {
	it := item{l, n, "list"}
	name, _, err := it.str("list")
	if err != nil {
		return err
	}
	it.ctx = "list '" + name + "'"
	if !listNameRE.MatchString(name) {
		l.warn(n, WarnInvalidListName, it.ctx,
			`List has an invalid name. List names should match a regular expression: ([^()"'[:space:]=,]+)`)
	}
	items, pos, _, err := it.strings("items", true)
	if err != nil {
		return err
	}
	appendFlag, o, err := l.appendMode(it, listOverridable, listOverridable)
	if err != nil {
		return err
	}
	if appendFlag || o.append["items"] != nil {
		prev := l.col.List(name)
		if prev == nil {
			return l.fail(n, CodeValidate, it.ctx, msgNoPreviousList)
		}
		prev.Items = append(prev.Items, items...)
		prev.ItemPos = append(prev.ItemPos, pos...)
		prev.Last = l.col.tick()
		return nil
	}
	at := l.src.pos(n)
	l.col.defineList(&List{Name: name, Items: items, ItemPos: pos, Pos: at, DefPos: at})
	return nil
}

// appendMode reads the deprecated "append: true" flag and "override", in
// Falco's order, and checks they are not used together.
func (l *fileLoader) appendMode(it item, appendable, replaceable []string) (bool, overrides, error) {
	flag, _, err := it.boolean("append", false)
	if err != nil {
		return false, overrides{}, err
	}
	if flag {
		k, _ := lookup(it.n, "append")
		l.warn(k, WarnDeprecatedItem, it.ctx, msgAppendDeprecated)
	}
	o, err := l.readOverrides(it, appendable, replaceable)
	if err != nil {
		return false, o, err
	}
	if flag && o.any() {
		return false, o, l.invalid(it.n, it.ctx, msgOverrideAppend)
	}
	return flag, o, nil
}

var macroOverridable = []string{"condition"}

func (l *fileLoader) macro(n *yaml.Node) error {
	it := item{l, n, "macro"}
	name, _, err := it.str("macro")
	if err != nil {
		return err
	}
	it.ctx = "macro '" + name + "'"
	if !macroNameRE.MatchString(name) {
		l.warn(n, WarnInvalidMacroName, it.ctx,
			"Macro has an invalid name. Macro names should match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)")
	}
	cond, _, err := it.text("condition")
	if err != nil {
		return err
	}
	appendFlag, o, err := l.appendMode(it, macroOverridable, macroOverridable)
	if err != nil {
		return err
	}
	if appendFlag || o.append["condition"] != nil {
		prev := l.col.Macro(name)
		if prev == nil {
			return l.fail(n, CodeValidate, it.ctx, msgNoPreviousMacro)
		}
		prev.Condition = prev.Condition.join(cond)
		prev.Last = l.col.tick()
		return nil
	}
	at := l.src.pos(n)
	l.col.defineMacro(&Macro{Name: name, Condition: cond, Pos: at, DefPos: at})
	return nil
}
