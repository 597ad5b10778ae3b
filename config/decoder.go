package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// decoder reads typed values from the raw document by key path
// ("webserver.listen_port", "plugins[0].name"). A value of the wrong type
// is an error naming its key, never a quiet fallback to the default: a
// daemon that listens on another port than the one written, or drops the
// JSON format its consumers parse, fails later and far from the cause.
// (Falco's yaml-cpp falls back silently; DESIGN.md makes an invalid
// configuration exit 1.)
type decoder struct {
	raw      map[string]any
	errs     []problem
	warnings []problem
	failed   map[string]bool // keys already reported, so each fails once
	read     map[string]bool // every path get was asked for, and its parents
}

func newDecoder(raw map[string]any) *decoder {
	return &decoder{raw: raw, failed: map[string]bool{}, read: map[string]bool{}}
}

// fail records an error about key; the message starts with the key.
func (d *decoder) fail(key, format string, args ...any) {
	if d.failed[key] {
		return
	}
	d.failed[key] = true
	d.errs = append(d.errs, problem{key, key + ": " + fmt.Sprintf(format, args...)})
}

func (d *decoder) warn(key, msg string) { d.warnings = append(d.warnings, problem{key, msg}) }

// get returns the value at a dotted path, nil when absent. A block on the
// way that is not a mapping is an error.
func (d *decoder) get(path string) any {
	var v any = d.raw
	done := ""
	for p := path; p != ""; p, _, _ = cutLast(p, ".") {
		d.read[p] = true
	}
	for _, k := range strings.Split(path, ".") {
		if v == nil {
			return nil
		}
		m, ok := v.(map[string]any)
		if !ok {
			d.fail(done, "expected a mapping, got %s", show(v))
			return nil
		}
		v = m[k]
		done = strings.TrimPrefix(done+"."+k, ".")
	}
	return v
}

func (d *decoder) bool(path string, def bool) bool { return d.boolAt(path, d.get(path), def) }
func (d *decoder) int(path string, def int) int    { return d.intAt(path, d.get(path), def) }
func (d *decoder) str(path, def string) string     { return d.strAt(path, d.get(path), def) }

// mapping returns the mapping at path, nil when absent.
func (d *decoder) mapping(path string) map[string]any { return d.mappingAt(path, d.get(path)) }

// list returns the list at path, nil when absent.
func (d *decoder) list(path string) []any {
	switch v := d.get(path).(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		d.fail(path, "expected a list, got %s", show(v))
		return nil
	}
}

func (d *decoder) mappingAt(path string, v any) map[string]any {
	switch v := v.(type) {
	case nil:
		return nil
	case map[string]any:
		return v
	default:
		d.fail(path, "expected a mapping, got %s", show(v))
		return nil
	}
}

// boolAt takes yaml-cpp's spellings, as Falco reads the same file.
func (d *decoder) boolAt(path string, v any, def bool) bool {
	switch v := v.(type) {
	case nil:
		return def
	case bool:
		return v
	case string:
		if b, ok := parseBool(v); ok {
			return b
		}
	}
	d.fail(path, "expected a bool (true or false), got %s", show(v))
	return def
}

// parseBool accepts what yaml-cpp converts to a bool: y/n, yes/no,
// true/false, on/off, each in lower case, upper case or capitalised.
// (YAML 1.2 reads only true/false as booleans; yes and on reach here as
// strings.)
func parseBool(s string) (bool, bool) {
	if s == "" {
		return false, false
	}
	lower := strings.ToLower(s)
	if s != lower && s != strings.ToUpper(s) && s != strings.ToUpper(s[:1])+lower[1:] {
		return false, false
	}
	switch lower {
	case "y", "yes", "true", "on":
		return true, true
	case "n", "no", "false", "off":
		return false, true
	}
	return false, false
}

func (d *decoder) intAt(path string, v any, def int) int {
	switch v := v.(type) {
	case nil:
		return def
	case int:
		return v
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int(v)
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n
		}
	}
	d.fail(path, "expected an integer, got %s", show(v))
	return def
}

func (d *decoder) float(path string, def float64) float64 {
	switch v := d.get(path).(type) {
	case nil:
		return def
	case int:
		return float64(v)
	case float64:
		return v
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return f
		}
		d.fail(path, "expected a number, got %s", show(v))
	default:
		d.fail(path, "expected a number, got %s", show(v))
	}
	return def
}

// duration reads a Go duration ("30s", "10m") or a bare number in unit.
func (d *decoder) duration(path string, def, unit time.Duration) time.Duration {
	switch v := d.get(path).(type) {
	case nil:
		return def
	case int:
		return time.Duration(v) * unit
	case float64:
		return time.Duration(v * float64(unit))
	case string:
		if dur, err := time.ParseDuration(v); err == nil {
			return dur
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Duration(n * float64(unit))
		}
		d.fail(path, "expected a duration (30s, 10m) or a number, got %s", show(v))
	default:
		d.fail(path, "expected a duration (30s, 10m) or a number, got %s", show(v))
	}
	return def
}

// strAt reads a scalar as text: yaml-cpp reads 8765 and true as strings
// too, but a mapping or a list is no string.
func (d *decoder) strAt(path string, v any, def string) string {
	switch v := v.(type) {
	case nil:
		return def
	case string:
		return v
	case map[string]any, []any:
		d.fail(path, "expected a string, got %s", show(v))
		return def
	default:
		return fmt.Sprint(v)
	}
}

// strings reads a list of strings; one string is a list of one, as
// Falco's get_sequence reads a scalar.
func (d *decoder) strings(path string) []string {
	switch v := d.get(path).(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			out = append(out, d.strAt(fmt.Sprintf("%s[%d]", path, i), e, ""))
		}
		return out
	case map[string]any:
		d.fail(path, "expected a list of strings, got %s", show(v))
		return nil
	default:
		return []string{fmt.Sprint(v)}
	}
}

// show gives a value as a message quotes it.
func show(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case map[string]any, map[any]any:
		return "a mapping"
	case []any:
		return "a list"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

// cutLast is strings.Cut at the last sep: "a.b.c" gives "a.b", "c".
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return "", s, false
}
