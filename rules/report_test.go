package rules

import (
	"fmt"
	"strings"
	"testing"
)

func TestReportOrder(t *testing.T) {
	r := &Report{}
	r.addFile("b.yaml")
	r.addFile("a.yaml")
	for _, d := range []Diag{
		{Pos: Position{"a.yaml", 3, 1}, Msg: "a3"},
		{Pos: Position{"b.yaml", 9, 2}, Msg: "b9"},
		{Pos: Position{"b.yaml", 2, 5}, Msg: "b2 second on its line"},
		{Pos: Position{"b.yaml", 2, 1}, Msg: "b2"},
		{Pos: Position{"z.yaml", 1, 1}, Msg: "unknown file"},
		{Pos: Position{"a.yaml", 1, 1}, Msg: "warning", Warning: true},
	} {
		r.Add(d)
	}
	want := "b.yaml:2:1: b2\nb.yaml:9:2: b9\na.yaml:3:1: a3\nz.yaml:1:1: unknown file"
	if got := r.Err().Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if w := r.Warnings(); len(w) != 1 || w[0].Msg != "warning" {
		t.Errorf("warnings %v", w)
	}
	if (&Report{}).Err() != nil {
		t.Error("empty report has an error")
	}
}

func TestReportCap(t *testing.T) {
	r := &Report{}
	for i := 1; i <= MaxErrors+5; i++ {
		r.Add(Diag{Pos: Position{"f", i, 1}, Msg: fmt.Sprint("e", i), Code: CodeCompileCondition})
	}
	errs := r.Errors()
	if len(errs) != MaxErrors+1 {
		t.Fatalf("%d errors", len(errs))
	}
	if last := errs[MaxErrors].Error(); last != "f:101:1: 5 more errors" {
		t.Errorf("last %q", last)
	}
	if !strings.HasPrefix(r.Err().Error(), "f:1:1: e1\nf:2:1: e2\n") {
		t.Error("Err text")
	}
}

func TestPositionString(t *testing.T) {
	for p, want := range map[Position]string{
		{"f.yaml", 3, 4}: "f.yaml:3:4",
		{"f.yaml", 3, 0}: "f.yaml:3",
		{"f.yaml", 0, 0}: "f.yaml",
		{"", 2, 1}:       "2:1",
		{}:               "-",
	} {
		if got := p.String(); got != want {
			t.Errorf("%#v: %q", p, got)
		}
	}
}

func TestTextJoinAndTrim(t *testing.T) {
	a := NewText("ka.verb = x", Position{"a.yaml", 3, 14})
	b := NewText("  and y  ", Position{"b.yaml", 7, 5})
	j := a.join(b.trimSpace())
	if j.S != "ka.verb = x and y" {
		t.Fatalf("%q", j.S)
	}
	for off, want := range map[int]string{0: "a.yaml:3:14", 8: "a.yaml:3:22", 12: "b.yaml:7:7", 16: "b.yaml:7:11", 99: "b.yaml:7:12"} {
		if got := j.Position(off).String(); got != want {
			t.Errorf("offset %d: %s, want %s", off, got, want)
		}
	}
	if got := (Text{S: "x"}).Position(0).String(); got != "-" {
		t.Errorf("zero text: %s", got)
	}
}
