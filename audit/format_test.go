package audit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/buger/jsonparser"
)

// wrapped is a test Format: {"records":[{"log":"<event JSON>","cluster":"<name>"}]}.
var wrapped = &Format{
	Name:  "wrapped",
	Match: func(doc []byte) bool { return bytes.HasPrefix(doc, []byte(`{"records"`)) },
	Convert: func(doc []byte, emit func([]byte, string), skip func(string, string)) {
		_, _ = jsonparser.ArrayEach(doc, func(rec []byte, _ jsonparser.ValueType, _ int, _ error) {
			s, err := jsonparser.GetString(rec, "log")
			if err != nil {
				skip("no-log", "record without log")
				return
			}
			cluster, _ := jsonparser.GetString(rec, "cluster")
			emit([]byte(s), cluster)
		}, "records")
	},
}

// prefixed is a test Lines format: "TIME {event JSON}".
var prefixed = &Format{
	Name:  "prefixed",
	Lines: true,
	Match: func(line []byte) bool { return len(line) > 0 && line[0] >= '0' && line[0] <= '9' },
	Convert: func(line []byte, emit func([]byte, string), skip func(string, string)) {
		if i := bytes.IndexByte(line, ' '); i > 0 {
			emit(append([]byte(nil), line[i+1:]...), "")
			return
		}
		skip("malformed", "no message")
	},
}

const fev = `{"kind":"Event","auditID":"%s","verb":"get","stageTimestamp":"2024-01-01T00:00:00Z"}`

func fmtEv(id string) string { return strings.Replace(fev, "%s", id, 1) }

func quoted(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// TestFormatCluster: a record's cluster becomes the event's, unless the
// reader was given one (--cluster).
func TestFormatCluster(t *testing.T) {
	input := `{"records":[{"log":` + quoted(fmtEv("a")) + `,"cluster":"east"},{"log":` + quoted(fmtEv("b")) + `}]}` + "\n"
	tests := []struct {
		flag, want string
	}{
		{"", "a:east b:"},
		{"cli", "a:cli b:cli"},
	}
	for _, tt := range tests {
		r := NewReader([]string{"-"}, strings.NewReader(input), Options{Formats: []*Format{wrapped}, Cluster: tt.flag})
		var got []string
		for {
			e, err := r.Next()
			if err != nil {
				break
			}
			id, _ := e.Top("auditID").Str()
			got = append(got, id+":"+e.Cluster)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("--cluster %q: events %q, want %q", tt.flag, strings.Join(got, " "), tt.want)
		}
	}
}

// TestFormats: wrapped documents are sniffed among audit ones, line formats
// read lines that are not JSON, and a forced format reads every document.
func TestFormats(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		input    string
		ids      string
		problems string
	}{
		{"sniffed", Options{Formats: []*Format{wrapped}},
			fmtEv("a") + "\n" + `{"records":[{"log":` + quoted(fmtEv("b")) + `},{"x":1},{"log":` + quoted(fmtEv("c")) + `}]}` + "\n" + fmtEv("d") + "\n",
			"a b c d", "no-log"},
		{"not sniffed", Options{}, `{"records":[]}` + "\n" + fmtEv("a") + "\n", "a", "not-audit"},
		{"lines", Options{Formats: []*Format{prefixed}}, "2024-01-01 " + fmtEv("a") + "\n" + fmtEv("b") + "\n2024 x\n", "a b", "malformed"},
		{"forced lines", Options{Force: prefixed}, "1 " + fmtEv("a") + "\n2 " + fmtEv("b") + "\n", "a b", ""},
		{"forced", Options{Force: wrapped}, `{"records":[{"log":` + quoted(fmtEv("a")) + `}]}`, "a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader([]string{"-"}, strings.NewReader(tt.input), tt.opts)
			var ids, probs []string
			r.OnProblem = func(p Problem) { probs = append(probs, p.Reason) }
			for {
				e, err := r.Next()
				if err != nil {
					break
				}
				id, _ := e.Top("auditID").Str()
				ids = append(ids, id)
			}
			if got := strings.Join(ids, " "); got != tt.ids {
				t.Errorf("events %q, want %q", got, tt.ids)
			}
			if got := strings.Join(probs, " "); got != tt.problems {
				t.Errorf("problems %q, want %q", got, tt.problems)
			}
			events, problems := readWith(t, tt.input, tt.opts, false)
			checkBlocks(t, tt.input, tt.opts, events, problems)
		})
	}
}
