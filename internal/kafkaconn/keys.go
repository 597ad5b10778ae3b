package kafkaconn

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Keys reads typed values from a YAML mapping (an init_config, a
// kafka_output block). The first problem is kept and returned by Err, so
// a parser reads every key and checks once.
type Keys struct {
	m     map[string]any
	where string // prefix of key names in messages: "init_config.", "kafka_output."
	err   error
}

// NewKeys reads m; where prefixes key names in error messages.
func NewKeys(m map[string]any, where string) *Keys { return &Keys{m: m, where: where} }

// Err returns the first problem found.
func (k *Keys) Err() error { return k.err }

// Has reports whether key is set (to anything but null).
func (k *Keys) Has(key string) bool { return k.m[key] != nil }

func (k *Keys) fail(key, format string, args ...any) {
	if k.err == nil {
		k.err = fmt.Errorf("%s%s: %s", k.where, key, fmt.Sprintf(format, args...))
	}
}

// Sub returns the mapping under key (empty when absent).
func (k *Keys) Sub(key string) *Keys {
	sub := &Keys{where: k.where + key + ".", err: k.err}
	switch v := k.m[key].(type) {
	case nil:
	case map[string]any:
		sub.m = v
	default:
		k.fail(key, "expected a mapping")
	}
	return sub
}

// Adopt keeps the first problem of a Sub.
func (k *Keys) Adopt(sub *Keys) {
	if k.err == nil {
		k.err = sub.err
	}
}

// Str returns a string value (numbers and booleans are formatted).
func (k *Keys) Str(key, def string) string {
	switch v := k.m[key].(type) {
	case nil:
		return def
	case string:
		return v
	case map[string]any, []any:
		k.fail(key, "expected a string")
		return def
	default:
		return fmt.Sprint(v)
	}
}

// Strings returns a list of strings: a YAML list, or one comma-separated
// string. Empty items are dropped.
func (k *Keys) Strings(key string) []string {
	var raw []string
	switch v := k.m[key].(type) {
	case nil:
		return nil
	case string:
		raw = strings.Split(v, ",")
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				k.fail(key, "expected a list of strings")
				return nil
			}
			raw = append(raw, s)
		}
	default:
		k.fail(key, "expected a list or a comma-separated string")
		return nil
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Int returns an integer value.
func (k *Keys) Int(key string, def int) int {
	switch v := k.m[key].(type) {
	case nil:
		return def
	case int:
		return v
	case float64:
		if v == float64(int(v)) {
			return int(v)
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n
		}
	}
	k.fail(key, "expected an integer")
	return def
}

// Bool returns a boolean value ("true"/"false" strings too, as -o gives).
func (k *Keys) Bool(key string, def bool) bool {
	switch v := k.m[key].(type) {
	case nil:
		return def
	case bool:
		return v
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	k.fail(key, "expected true or false")
	return def
}

// Duration returns a Go duration ("30s", "500ms"); a bare number is
// milliseconds, as Kafka's *.ms settings are.
func (k *Keys) Duration(key string, def time.Duration) time.Duration {
	switch v := k.m[key].(type) {
	case nil:
		return def
	case int:
		return time.Duration(v) * time.Millisecond
	case float64:
		return time.Duration(v * float64(time.Millisecond))
	case string:
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Duration(n * float64(time.Millisecond))
		}
	}
	k.fail(key, "expected a duration such as 10s, or milliseconds")
	return def
}
