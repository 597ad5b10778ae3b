package output

import (
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/peregrine-sec/peregrine/engine"
)

// Format holds the falco.yaml keys that shape an alert.
type Format struct {
	JSON                bool // json_output
	IncludeOutput       bool // json_include_output_property
	IncludeTags         bool // json_include_tags_property
	IncludeMessage      bool // json_include_message_property
	IncludeOutputFields bool // json_include_output_fields_property
	Hostname            string
}

// DefaultFormat is Falco's default: text lines; when JSON is switched on,
// output, tags and output_fields are included and message is not.
func DefaultFormat() Format {
	return Format{IncludeOutput: true, IncludeTags: true, IncludeOutputFields: true, Hostname: Hostname()}
}

// Hostname is FALCO_HOSTNAME when set, else the machine's name, as Falco
// reports it.
func Hostname() string {
	if h := os.Getenv("FALCO_HOSTNAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

// Append encodes a as one line (with its trailing newline) onto dst.
func (f *Format) Append(dst []byte, a *engine.Alert) []byte {
	if !f.JSON {
		dst = append(dst, a.Output...)
		return append(dst, '\n')
	}
	return append(f.appendJSON(dst, a), '\n')
}

// appendJSON writes Falco's alert object. Keys are in alphabetical order,
// as Falco's JSON library sorts them.
func (f *Format) appendJSON(b []byte, a *engine.Alert) []byte {
	b = append(b, `{"hostname":`...)
	b = appendString(b, f.Hostname)
	if f.IncludeMessage {
		b = append(b, `,"message":`...)
		b = appendString(b, a.Message)
	}
	if f.IncludeOutput {
		b = append(b, `,"output":`...)
		b = appendString(b, a.Output)
	}
	if f.IncludeOutputFields {
		b = append(b, `,"output_fields":`...)
		b = appendFields(b, a.Fields)
	}
	b = append(b, `,"priority":`...)
	b = appendString(b, a.Priority.String())
	b = append(b, `,"rule":`...)
	b = appendString(b, a.Rule)
	b = append(b, `,"source":`...)
	b = appendString(b, a.Source)
	if f.IncludeTags {
		b = append(b, `,"tags":`...)
		b = appendStrings(b, a.Tags)
	}
	b = append(b, `,"time":"`...)
	b = AppendTime(b, a.Time)
	return append(b, `"}`...)
}

func appendFields(b []byte, fs []engine.OutputField) []byte {
	b = append(b, '{')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, ':')
		switch f.Kind {
		case engine.ValueMissing:
			b = append(b, "null"...)
		case engine.ValueString:
			b = appendString(b, f.Str)
		case engine.ValueList:
			b = appendStrings(b, f.List)
		case engine.ValueNumber:
			b = strconv.AppendUint(b, f.Num, 10)
		}
	}
	return append(b, '}')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// AppendTime writes an event time as Falco's JSON "time": UTC with exactly
// nine fractional digits (RFC3339Nano would trim zeros).
func AppendTime(b []byte, ns int64) []byte {
	t := time.Unix(0, ns).UTC()
	b = t.AppendFormat(b, "2006-01-02T15:04:05.000000000")
	return append(b, 'Z')
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string the way Falco's JSON library does:
// only quotes, backslashes and control characters are escaped; invalid
// UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, w := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && w == 1 {
				b = append(b, "\ufffd"...)
			} else {
				b = append(b, s[i:i+w]...)
			}
			i += w
			continue
		}
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return append(b, '"')
}
