package fields

import (
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
)

// This file holds the evt.* fields: what Falco itself knows about every
// plugin event (number, time, source), as opposed to what the plugin
// extracts from its JSON.

// constant returns an extractor that always gives s.
func constant(s string) Extractor {
	return func(_ *audit.Event, _ *Arg, dst []string) []string {
		return append(dst, s)
	}
}

// none is the extractor of a field that never has a value.
func none(_ *audit.Event, _ *Arg, dst []string) []string { return dst }

// uintField returns a Uint64 field whose value is n(ev).
func uintField(name, doc string, n func(ev *audit.Event) uint64) *Field {
	return &Field{
		Name: name, Type: Uint64, Doc: doc,
		Extract: func(ev *audit.Event, _ *Arg, dst []string) []string {
			return append(dst, strconv.FormatUint(n(ev), 10))
		},
		Number: func(ev *audit.Event) (uint64, bool) { return n(ev), true },
	}
}

func evtNum(ev *audit.Event) uint64    { return ev.Num }
func rawtime(ev *audit.Event) uint64   { return uint64(ev.Time) }
func rawtimeS(ev *audit.Event) uint64  { return uint64(ev.Time) / uint64(time.Second) }
func rawtimeNs(ev *audit.Event) uint64 { return uint64(ev.Time) % uint64(time.Second) }
func reltimeS(ev *audit.Event) uint64  { return reltime(ev) / uint64(time.Second) }
func reltimeNs(ev *audit.Event) uint64 { return reltime(ev) % uint64(time.Second) }
func absNumber(ev *audit.Event) uint64 { return uint64(ev.Time) }

// reltime is the time since the first event of the stream; 0 for the first
// event itself, and never negative (a late event with an older stamp).
func reltime(ev *audit.Event) uint64 {
	if ev.Start == 0 || ev.Time < ev.Start {
		return 0
	}
	return uint64(ev.Time - ev.Start)
}

// timeField returns an AbsTime field: its number is the event time in ns,
// its text the event time written by format.
func timeField(name, doc string, format func(b []byte, ns int64) []byte) *Field {
	return &Field{
		Name: name, Type: AbsTime, Doc: doc,
		Extract: func(ev *audit.Event, _ *Arg, dst []string) []string {
			var buf [40]byte
			return append(dst, string(format(buf[:0], ev.Time)))
		},
		Number: func(ev *audit.Event) (uint64, bool) { return uint64(ev.Time), true },
	}
}

// The time formats of Falco's evt.time family. Local time is the process's
// time zone, as Falco's text alerts use it.

func fmtTime(b []byte, ns int64) []byte  { return appendClock(b, time.Unix(0, ns), true) }
func fmtTimeS(b []byte, ns int64) []byte { return appendClock(b, time.Unix(0, ns), false) }

func fmtDatetime(b []byte, ns int64) []byte {
	t := time.Unix(0, ns)
	return appendClock(append(appendDate(b, t), ' '), t, true)
}

func fmtDatetimeS(b []byte, ns int64) []byte {
	t := time.Unix(0, ns)
	return appendClock(append(appendDate(b, t), ' '), t, false)
}

// fmtISO8601 writes UTC time with a numeric offset, as Falco does:
// 2022-04-29T15:19:12.581541000+0000.
func fmtISO8601(b []byte, ns int64) []byte {
	t := time.Unix(0, ns).UTC()
	b = appendClock(append(appendDate(b, t), 'T'), t, true)
	return append(b, "+0000"...)
}

// appendDate writes YYYY-MM-DD.
func appendDate(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	b = appendPadded(b, y, 4)
	b = appendPadded(append(b, '-'), int(m), 2)
	return appendPadded(append(b, '-'), d, 2)
}

// appendClock writes HH:MM:SS, and .nnnnnnnnn when frac.
func appendClock(b []byte, t time.Time, frac bool) []byte {
	h, m, s := t.Clock()
	b = appendPadded(b, h, 2)
	b = appendPadded(append(b, ':'), m, 2)
	b = appendPadded(append(b, ':'), s, 2)
	if frac {
		b = appendPadded(append(b, '.'), t.Nanosecond(), 9)
	}
	return b
}

// appendPadded writes n in decimal with at least width digits.
func appendPadded(b []byte, n, width int) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	var digits [20]byte
	i := len(digits)
	for {
		i--
		digits[i] = byte('0' + n%10)
		n /= 10
		if n == 0 && len(digits)-i >= width {
			break
		}
	}
	return append(b, digits[i:]...)
}

// hostname is evt.hostname: FALCO_HOSTNAME when set, as in Falco, else the
// machine's name; looked up once, since it cannot change under a running
// process in any way Falco would notice.
var hostname = sync.OnceValue(func() string {
	if h := os.Getenv("FALCO_HOSTNAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
})

func hostnameField(_ *audit.Event, _ *Arg, dst []string) []string {
	return append(dst, hostname())
}

// pluginInfo is evt.plugininfo: the plugin's own text for the event, which
// for k8saudit is the event JSON in the compact form the plugin stores.
func pluginInfo(ev *audit.Event, _ *Arg, dst []string) []string {
	if s, ok := audit.Compact(ev.Raw); ok {
		dst = append(dst, s)
	}
	return dst
}

// isAsync is evt.is_async: plugin events are never asynchronous events.
func isAsync(*audit.Event) (uint64, bool) { return 0, true }
