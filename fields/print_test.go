package fields

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/FIELDS.md from the field table")

const fieldsDoc = "../docs/FIELDS.md"

// fieldsDocHeader opens docs/FIELDS.md; the table below it is generated.
const fieldsDocHeader = `# Fields

<!-- Generated from fields/table.go by: go test ./fields -run TestFieldsDoc -update
     Do not edit by hand. -->

Every field a rule with ` + "`source: k8s_audit`" + ` can use in its condition and output,
as ` + "`peregrine fields`" + ` prints them. ka.* fields follow the k8saudit plugin, json.* and
jevt.* the json plugin, evt.* Falco itself. A field with no value makes every comparison
false and prints as ` + "`<NA>`" + `; list fields hold several values and take ` + "`in`" + `,
` + "`intersects`" + ` and ` + "`exists`" + `. ARG says what may follow the name in brackets:
Index is an optional [N] (digits, no leading zeros), Key any text.
Where Peregrine deliberately differs from upstream, see COMPATIBILITY.md ("Fields").

`

func renderFieldsDoc(t *testing.T) []byte {
	var b bytes.Buffer
	b.WriteString(fieldsDocHeader)
	if err := Builtin().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFieldsDoc fails when docs/FIELDS.md no longer matches the table.
// Regenerate it with: go test ./fields -run TestFieldsDoc -update
func TestFieldsDoc(t *testing.T) {
	want := renderFieldsDoc(t)
	if *update {
		if err := os.WriteFile(fieldsDoc, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(fieldsDoc)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with fields/table.go (%v); regenerate it with:\n\tgo test ./fields -run TestFieldsDoc -update", fieldsDoc, err)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := Builtin().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2+len(Builtin().All()) {
		t.Fatalf("%d lines; want a header, a rule and one per field", len(lines))
	}
	for _, l := range lines {
		if len(l) != len(lines[0]) || strings.Count(l, "|") != 5 {
			t.Errorf("misaligned row: %q", l)
		}
	}
	for _, want := range []string{
		"| `ka.verb` ", "| `string` ", "| None ",
		"| `ka.user.groups` ", "| `string (list)` ",
		"| `ka.uri.param` ", "| Key, Required ",
		"| `ka.sourceips` ", "| Index ",
		"| `evt.num` ", "| `uint64` ", "| `evt.time` ", "| `abstime` ", "| `evt.is_async` ", "| `bool` ",
		"| (Peregrine extension) The whole request object",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if !strings.HasPrefix(lines[0], "|") || !strings.Contains(lines[0], " NAME ") || !strings.HasPrefix(lines[1], "|---") {
		t.Errorf("header: %q / %q", lines[0], lines[1])
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := Builtin().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(Builtin().All()) {
		t.Fatalf("%d fields; want %d", len(got), len(Builtin().All()))
	}
	byName := map[string]map[string]any{}
	for _, f := range got {
		if len(f) != 7 {
			t.Errorf("%v: want the keys name, type, list, arg, arg_required, desc, extension", f)
		}
		byName[f["name"].(string)] = f
	}
	for name, want := range map[string]map[string]any{
		"ka.uri.param":   {"type": "string", "list": false, "arg": "key", "arg_required": true, "extension": false},
		"ka.sourceips":   {"type": "string", "list": true, "arg": "index", "arg_required": false},
		"ka.req":         {"extension": true, "arg": "none"},
		"evt.rawtime":    {"type": "uint64"},
		"evt.datetime.s": {"type": "abstime"},
	} {
		for k, v := range want {
			if byName[name][k] != v {
				t.Errorf("%s.%s = %v; want %v", name, k, byName[name][k], v)
			}
		}
	}
}
