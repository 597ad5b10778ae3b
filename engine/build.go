package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/peregrine-sec/peregrine/condition"
	"github.com/peregrine-sec/peregrine/fields"
	"github.com/peregrine-sec/peregrine/rules"
)

// New compiles the k8s_audit rules of a loaded collection. Rules of other
// sources are counted in Engine.Skipped, not compiled. Errors and warnings
// go to rep, after the loader's; the engine is nil when there was an error.
func New(col *rules.Collection, opts Options, rep *rules.Report) *Engine {
	if opts.Fields == nil {
		opts.Fields = fields.Builtin()
	}
	b := &builder{
		col:           col,
		comp:          condition.NewCompiler(opts.Fields),
		parsed:        map[string]condition.Node{},
		broken:        map[string]bool{},
		resolved:      map[string]bool{},
		lists:         map[string][]string{},
		report:        rep,
		warned:        map[string]bool{},
		outputSkipped: map[*rules.Rule]bool{},
	}
	for _, l := range col.Lists {
		b.lists[l.Name] = l.Items
	}
	b.compileMacros()
	e := &Engine{comp: b.comp, opts: opts, Skipped: map[string]int{}}
	e.time = b.timeExpr(opts.TimeISO8601)
	for _, r := range col.Rules {
		if r.Source != Source {
			e.Skipped[r.Source]++
			continue
		}
		cr := b.compileRule(r)
		if cr != nil && r.Enabled && r.Priority <= opts.MinPriority {
			e.rules = append(e.rules, cr)
		}
	}
	if b.failed {
		return nil
	}
	b.warnUnused()
	e.index = b.index(e.rules)
	return e
}

type builder struct {
	col      *rules.Collection
	comp     *condition.Compiler
	parsed   map[string]condition.Node // macro name -> parsed body
	broken   map[string]bool           // macros with an error, or using one
	resolved map[string]bool           // macros compileMacros has checked
	lists    map[string][]string
	report   *rules.Report
	failed   bool
	warned   map[string]bool
	// outputSkipped are the rules skip-if-unknown-filter dropped for their
	// output, before Falco looks at their condition.
	outputSkipped map[*rules.Rule]bool
}

func (b *builder) add(d rules.Diag) {
	b.report.Add(d)
	if !d.Warning {
		b.failed = true
	}
}

func (b *builder) timeExpr(iso bool) *condition.Expr {
	name := "evt.time"
	if iso {
		name = "evt.time.iso8601"
	}
	e, err := b.comp.CompileExpr(&condition.FieldRef{Name: name})
	if err != nil {
		panic("engine: builtin field missing: " + name)
	}
	return e
}

// rule compiles one k8s_audit rule; nil when it has an error or is skipped.
// Like Falco it compiles the output first: a rule whose output fails is
// never looked at further.
func (b *builder) compileRule(r *rules.Rule) *Rule {
	ctx := fmt.Sprintf("rule '%s'", r.Name)
	out, err := compileFormat(b.comp, r.Output)
	if err != nil {
		b.outputError(r, ctx, err)
		return nil
	}
	nw := len(b.comp.Warnings)
	ev, keys, err := b.condition(r)
	for _, w := range b.comp.Warnings[nw:] {
		b.warn(b.position(r, w.Pos), w.Code, ctx, w.Msg)
	}
	var uf *condition.UnknownFieldError
	switch {
	case errors.Is(err, errBrokenMacro):
		return nil // the macro's own error is reported
	case errors.As(err, &uf) && r.SkipIfUnknownFilter:
		b.skipWarning(b.position(r, uf.Pos), ctx, uf.Error())
		return nil
	case err != nil:
		b.conditionError(r, ctx, err)
		return nil
	}
	return &Rule{
		Name: r.Name, Desc: r.Desc, Priority: r.Priority, Tags: r.Tags,
		eval: ev, out: out, prefix: ": " + r.Priority.String() + " ", keys: keys,
	}
}

// outputError reports an output that does not compile. With
// skip-if-unknown-filter, an unknown field only skips the rule.
func (b *builder) outputError(r *rules.Rule, ctx string, err error) {
	if r.SkipIfUnknownFilter && unknownTypeOrField(err.Error()) {
		b.outputSkipped[r] = true
		b.skipWarning(r.OutputPos, ctx, err.Error())
		return
	}
	b.add(rules.Diag{Pos: r.OutputPos, Code: rules.CodeCompileOutput, Context: ctx, Msg: err.Error()})
}

// unknownTypeOrField is Falco's test, on the message, of the errors that
// skip-if-unknown-filter turns into a warning.
func unknownTypeOrField(msg string) bool {
	for _, s := range []string{"nonexistent field", "invalid formatting token", "unknown event type", "unknown filter:"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// skipWarning reports a rule skip-if-unknown-filter drops, with the error's
// message as Falco does. Not deduplicated by place: each rule is skipped.
func (b *builder) skipWarning(pos rules.Position, ctx, msg string) {
	b.add(rules.Diag{Pos: pos, Code: rules.WarnUnknownFilter, Context: ctx, Msg: msg, Warning: true})
}

// warn records a warning once per place and message: a macro used by many
// rules would otherwise repeat its warnings for each.
func (b *builder) warn(pos rules.Position, code, ctx, msg string) {
	key := pos.String() + "\x00" + msg
	if b.warned[key] {
		return
	}
	b.warned[key] = true
	b.add(rules.Diag{Pos: pos, Code: code, Context: ctx, Msg: msg, Warning: true})
}

// index builds the verb and resource index over the enabled rules.
func (b *builder) index(rs []*Rule) *index {
	var fs [numKeys]*condition.Expr
	for k, name := range keyFields {
		f, err := b.comp.CompileExpr(&condition.FieldRef{Name: name})
		if err != nil {
			panic("engine: builtin field missing: " + name)
		}
		fs[k] = f
	}
	return buildIndex(fs, rs)
}
