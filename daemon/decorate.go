package daemon

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/condition"
	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/fields"
)

// decorator edits alerts after the engine made them: append_output's
// extra_fields (added to output_fields) and peregrine.redact_outputs.
// extra_output (text) is appended to the rules' outputs before they are
// compiled, by the loader.
type decorator struct {
	extras map[string][]extraField // by rule name
	redact bool
	ctxs   sync.Pool // *condition.Ctx for field extras
}

type extraField struct {
	name   string
	static string
	expr   *condition.Expr // nil for a static value
}

func newDecorator(l *Loaded) (*decorator, error) {
	d := l.Config.Daemon
	dec := &decorator{redact: d.Peregrine.RedactOutputs, extras: map[string][]extraField{}}
	table := fields.Builtin()
	for _, sf := range d.StaticFields {
		table = table.With(fields.Static(sf.Name, sf.Value))
	}
	comp := condition.NewCompiler(table)
	for _, ao := range d.AppendOutput {
		if len(ao.ExtraFields) == 0 {
			continue
		}
		efs, err := compileExtras(comp, ao.ExtraFields)
		if err != nil {
			return nil, err
		}
		for _, r := range l.Engine.Rules() {
			if ao.Matches(r.Name, r.Tags) {
				dec.extras[r.Name] = append(dec.extras[r.Name], efs...)
			}
		}
	}
	dec.ctxs.New = func() any { return comp.NewCtx() }
	if !dec.redact && len(dec.extras) == 0 {
		return nil, nil
	}
	return dec, nil
}

func compileExtras(comp *condition.Compiler, efs []config.ExtraField) ([]extraField, error) {
	var out []extraField
	for _, ef := range efs {
		if ef.Static {
			out = append(out, extraField{name: ef.Name, static: ef.Value})
			continue
		}
		ref, err := fieldRef(ef.Name)
		if err != nil {
			return nil, fmt.Errorf("append_output extra_fields %q: %w", ef.Name, err)
		}
		e, err := comp.CompileExpr(ref)
		if err != nil {
			return nil, fmt.Errorf("append_output extra_fields %q: %w", ef.Name, err)
		}
		out = append(out, extraField{name: ef.Name, expr: e})
	}
	return out, nil
}

// fieldRef parses a field name with an optional [argument].
func fieldRef(name string) (condition.Operand, error) {
	n, err := condition.Parse(name + " exists")
	if err != nil {
		return nil, err
	}
	var ref *condition.FieldRef
	condition.Inspect(n, func(x condition.Node) bool {
		if f, ok := x.(*condition.FieldRef); ok && ref == nil {
			ref = f
		}
		return true
	})
	if ref == nil {
		return nil, fmt.Errorf("not a field")
	}
	return ref, nil
}

func (d *decorator) decorate(a *engine.Alert, ev *audit.Event) {
	if efs := d.extras[a.Rule]; len(efs) > 0 {
		d.addFields(a, ev, efs)
	}
	if d.redact {
		a.Output = Redact(a.Output)
		a.Message = Redact(a.Message)
		for i := range a.Fields {
			f := &a.Fields[i]
			f.Str = Redact(f.Str)
			for j := range f.List {
				f.List[j] = Redact(f.List[j])
			}
		}
	}
}

func (d *decorator) addFields(a *engine.Alert, ev *audit.Event, efs []extraField) {
	x := d.ctxs.Get().(*condition.Ctx)
	defer d.ctxs.Put(x)
	x.Reset(ev)
	for _, ef := range efs {
		f := engine.OutputField{Name: ef.name}
		switch {
		case ef.expr == nil:
			f.Kind, f.Str = engine.ValueString, ef.static
		case ef.expr.Type() == fields.AbsTime || ef.expr.Type() == fields.Uint64:
			if n, ok := ef.expr.Number(x); ok {
				f.Kind, f.Num = engine.ValueNumber, n
			}
		default:
			vs := ef.expr.Values(x)
			switch {
			case len(vs) == 0:
			case ef.expr.IsList():
				f.Kind, f.List = engine.ValueList, cloneAll(vs)
			default:
				f.Kind, f.Str = engine.ValueString, strings.Clone(vs[0])
			}
		}
		a.Fields = setField(a.Fields, f)
	}
}

func cloneAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.Clone(v)
	}
	return out
}

// setField puts f into the sorted fields, replacing one of the same name.
func setField(fs []engine.OutputField, f engine.OutputField) []engine.OutputField {
	i := sort.Search(len(fs), func(i int) bool { return fs[i].Name >= f.Name })
	if i < len(fs) && fs[i].Name == f.Name {
		fs[i] = f
		return fs
	}
	return slices.Insert(fs, i, f)
}

// Credential-like values that redact_outputs masks: the value after a
// secret-sounding key, bearer/basic credentials, JWTs, AWS access keys,
// PEM private keys.
var redactions = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)["']?\s*[=:]\s*["']?)[^\s"',;)}&]+`), "${1}***"},
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`), "${1} ***"},
	{regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+`), "***"},
	{regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), "***"},
	{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`), "***"},
}

// Redact masks credential-like values in s (peregrine.redact_outputs).
func Redact(s string) string {
	for _, r := range redactions {
		if r.re.MatchString(s) {
			s = r.re.ReplaceAllString(s, r.with)
		}
	}
	return s
}
