package fields

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
)

// String returns the type's name as the field tables print it.
func (t Type) String() string {
	switch t {
	case Uint64:
		return "uint64"
	case Bool:
		return "bool"
	case AbsTime:
		return "abstime"
	}
	return "string"
}

// String returns the argument kind's name as `fields --json` prints it.
func (a ArgKind) String() string {
	switch a {
	case ArgIndex:
		return "index"
	case ArgKey:
		return "key"
	}
	return "none"
}

// typeColumn is the TYPE cell of the Markdown table: "string (list)" for
// list fields, as in the k8saudit README.
func (f *Field) typeColumn() string {
	if f.List {
		return f.Type.String() + " (list)"
	}
	return f.Type.String()
}

// argColumn is the ARG cell of the Markdown table.
func (f *Field) argColumn() string {
	var s string
	switch f.Arg {
	case ArgNone:
		return "None"
	case ArgIndex:
		s = "Index"
	default:
		s = "Key"
	}
	if f.ArgRequired {
		s += ", Required"
	}
	return s
}

// description is the doc as printed, with extensions marked.
func (f *Field) description() string {
	if f.Extension {
		return "(Peregrine extension) " + f.Doc
	}
	return f.Doc
}

// WriteTable prints the fields as a Markdown table with the columns of the
// k8saudit README (NAME, TYPE, ARG, DESCRIPTION), aligned so that it also
// reads well as plain text.
func (t *Table) WriteTable(w io.Writer) error {
	rows := [][4]string{}
	for _, f := range t.fields {
		rows = append(rows, [4]string{
			"`" + f.Name + "`", "`" + f.typeColumn() + "`", f.argColumn(),
			strings.ReplaceAll(f.description(), "|", `\|`),
		})
	}
	header := [4]string{"NAME", "TYPE", "ARG", "DESCRIPTION"}
	var width [4]int
	for _, r := range append(rows, header) {
		for i, c := range r {
			width[i] = max(width[i], len(c)+2)
		}
	}
	bw := bufio.NewWriter(w)
	writeRow(bw, header, width, true)
	for i, n := range width {
		bw.WriteString("|" + strings.Repeat("-", n))
		if i == len(width)-1 {
			bw.WriteString("|\n")
		}
	}
	for _, r := range rows {
		writeRow(bw, r, width, false)
	}
	return bw.Flush()
}

// writeRow writes one table row; header cells are centred.
func writeRow(w *bufio.Writer, cells [4]string, width [4]int, center bool) {
	for i, c := range cells {
		left := 1
		if center {
			left = (width[i] - len(c)) / 2
		}
		w.WriteString("|" + strings.Repeat(" ", left) + c + strings.Repeat(" ", width[i]-left-len(c)))
	}
	w.WriteString("|\n")
}

// jsonField is one field in `peregrine fields --json`.
type jsonField struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	List        bool   `json:"list"`
	Arg         string `json:"arg"`
	ArgRequired bool   `json:"arg_required"`
	Desc        string `json:"desc"`
	Extension   bool   `json:"extension"`
}

// WriteJSON prints the fields as one JSON array of objects with the keys
// name, type, list, arg ("none", "index" or "key"), arg_required, desc and
// extension.
func (t *Table) WriteJSON(w io.Writer) error {
	out := make([]jsonField, 0, len(t.fields))
	for _, f := range t.fields {
		out = append(out, jsonField{
			Name: f.Name, Type: f.Type.String(), List: f.List, Arg: f.Arg.String(),
			ArgRequired: f.ArgRequired, Desc: f.Doc, Extension: f.Extension,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
