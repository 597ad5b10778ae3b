package engine

import (
	"strings"

	"github.com/peregrine-sec/peregrine/fields"
	"github.com/peregrine-sec/peregrine/rules"
)

// Alert is one rule match, ready for the output encoders.
type Alert struct {
	// Time is the event time in ns since the epoch (stageTimestamp).
	Time     int64
	Rule     string
	Priority rules.Priority
	Source   string
	Tags     []string // sorted set
	// Output is the whole line: "<time>: <Priority> <message>".
	Output string
	// Message is the rendered rule output alone.
	Message string
	// Fields are the output_fields, sorted by name.
	Fields []OutputField
}

// ValueKind says how an output field value is written in JSON.
type ValueKind uint8

// The output field value kinds.
const (
	ValueMissing ValueKind = iota // null
	ValueString                   // a JSON string
	ValueList                     // an array of strings
	ValueNumber                   // an integer (times, counters)
)

// OutputField is one entry of output_fields.
type OutputField struct {
	Name string
	Kind ValueKind
	Str  string
	List []string
	Num  uint64
}

// alert renders r's output for the worker's current event. Strings are
// cloned so that the alert outlives the event's bytes.
func (w *Worker) alert(r *Rule) *Alert {
	w.b.Reset()
	writeValue(&w.b, w.e.time, w.x)
	w.b.WriteString(r.prefix)
	n := w.b.Len()
	r.out.render(w.x, &w.b)
	line := w.b.String() // Builder.String does not copy; Reset drops it
	a := &Alert{
		Time:     w.x.Ev.Time,
		Rule:     r.Name,
		Priority: r.Priority,
		Source:   Source,
		Tags:     r.Tags,
		Output:   line,
		Message:  line[n:],
	}
	a.Fields = w.outputFields(r)
	return a
}

func (w *Worker) outputFields(r *Rule) []OutputField {
	keys := r.out.keys
	out := make([]OutputField, 0, len(keys)+1)
	timeKey := "evt.time"
	if w.e.opts.TimeISO8601 {
		timeKey = "evt.time.iso8601"
	}
	added := false
	for _, k := range keys {
		if !added && timeKey <= k.name {
			if timeKey != k.name {
				out = append(out, OutputField{Name: timeKey, Kind: ValueNumber, Num: uint64(w.x.Ev.Time)})
			}
			added = true
		}
		out = append(out, w.outputField(k))
	}
	if !added {
		out = append(out, OutputField{Name: timeKey, Kind: ValueNumber, Num: uint64(w.x.Ev.Time)})
	}
	return out
}

func (w *Worker) outputField(k outKey) OutputField {
	f := OutputField{Name: k.name}
	if t := k.expr.Type(); t == fields.AbsTime || t == fields.Uint64 {
		if n, ok := k.expr.Number(w.x); ok {
			f.Kind, f.Num = ValueNumber, n
		}
		return f
	}
	vs := k.expr.Values(w.x)
	switch {
	case len(vs) == 0:
	case k.expr.IsList():
		f.Kind = ValueList
		f.List = make([]string, len(vs))
		for i, v := range vs {
			f.List[i] = strings.Clone(v)
		}
	default:
		f.Kind, f.Str = ValueString, strings.Clone(vs[0])
	}
	return f
}
