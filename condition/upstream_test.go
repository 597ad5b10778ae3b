package condition

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// sharedDir returns the shared/ folder beside the repository (the upstream
// rules and the corpus), or "" when it is not there.
func sharedDir() string {
	for _, d := range []string{os.Getenv("PEREGRINE_SHARED"), "../../shared", "/work/shared"} {
		if d == "" {
			continue
		}
		if st, err := os.Stat(filepath.Join(d, "upstream")); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// upstreamCondition is one condition: of a macro or rule, with where it came from.
type upstreamCondition struct {
	where string
	text  string
}

// upstreamConditions returns every condition of the upstream rules files
// under shared/upstream/rules and shared/upstream/test-rules. Appends
// (legacy "append: true" or "override: condition: append") are fragments
// such as "and not x"; they are joined to the item they extend, with a
// space, as Falco does.
func upstreamConditions(tb testing.TB) []upstreamCondition {
	if sharedDir() == "" {
		tb.Skip("shared/upstream not found (set PEREGRINE_SHARED); skipping the upstream rules")
	}
	return readUpstreamConditions(tb)
}

// readUpstreamConditions is upstreamConditions without the skip: it
// returns nil when shared/ is absent.
func readUpstreamConditions(tb testing.TB) []upstreamCondition {
	dir := sharedDir()
	if dir == "" {
		return nil
	}
	var out []upstreamCondition
	for _, sub := range []string{"upstream/rules", "upstream/test-rules"} {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "falco-unit" {
				// Rule-loader tests that must fail on the source before any
				// condition is parsed; their "1 = 2" is not valid syntax.
				return filepath.SkipDir
			}
			if d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return nil
			}
			out = append(out, fileConditions(tb, path)...)
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

func fileConditions(tb testing.TB, path string) []upstreamCondition {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(bufio.NewReader(f))
	var out []upstreamCondition
	last := map[string]int{} // "macro:name" -> index in out
	for {
		var items []map[string]any
		if err := dec.Decode(&items); err != nil {
			break // io.EOF, or a file the loader's own tests cover
		}
		for _, it := range items {
			kind, name := itemKind(it)
			cond, ok := it["condition"].(string)
			if kind == "" || !ok {
				continue
			}
			key := kind + ":" + name
			if i, seen := last[key]; seen && isAppend(it) {
				out[i].text += " " + cond
				continue
			}
			last[key] = len(out)
			out = append(out, upstreamCondition{where: filepath.Base(path) + ": " + key, text: cond})
		}
	}
	return out
}

func itemKind(it map[string]any) (kind, name string) {
	for _, k := range []string{"macro", "rule"} {
		if n, ok := it[k].(string); ok {
			return k, n
		}
	}
	return "", ""
}

func isAppend(it map[string]any) bool {
	if a, _ := it["append"].(bool); a {
		return true
	}
	o, _ := it["override"].(map[string]any)
	return o["condition"] == "append"
}

// TestUpstreamConditionsParse parses every macro and rule condition of the
// upstream rules files, syscall rules included: they must all parse even
// though only k8s_audit rules get compiled.
func TestUpstreamConditionsParse(t *testing.T) {
	conds := upstreamConditions(t)
	if len(conds) < 500 {
		t.Fatalf("found only %d conditions; is shared/upstream complete?", len(conds))
	}
	for _, c := range conds {
		n, err := Parse(c.text)
		if err != nil {
			t.Errorf("%s: %s", c.where, err.(*Error).Render(c.text))
			continue
		}
		checkParse(t, c.text, n, err)
	}
	t.Logf("%d conditions parsed", len(conds))
}
