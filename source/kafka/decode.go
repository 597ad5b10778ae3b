package kafka

import (
	"github.com/buger/jsonparser"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/peregrine-sec/peregrine/audit"
)

// decoder turns one record's value into events. A value is an audit
// payload (an Event, an EventList, an array of them, JSON lines); a value
// that is not is tried, without cost for those that are, as a log
// shipper's envelope (Config.EventField) and as Azure diagnostic records
// ({"records":[{"properties":{"log":"..."}}]}), which is what AKS audit
// logs look like when Event Hubs' Kafka endpoint serves them.
type decoder struct {
	opts          audit.Options
	cluster       string
	clusterHeader string
	clusterField  []string
}

func newDecoder(c Config) *decoder {
	formats := []*audit.Format{}
	if len(c.EventField) > 0 {
		formats = append(formats, envelopeFormat(c.EventField))
	}
	formats = append(formats, recordsFormat)
	return &decoder{
		opts:    audit.Options{MaxEventSize: c.MaxEventSize, MaxDocSize: max(c.MaxEventSize, audit.DefaultMaxDocSize), Formats: formats},
		cluster: c.Cluster, clusterHeader: c.ClusterHeader, clusterField: c.ClusterField,
	}
}

// decode decodes r, calling emit for each event and problem for what is
// skipped. Events alias r.Value, which the client never reuses.
func (d *decoder) decode(r *kgo.Record, emit func(*audit.Event), problem func(audit.Problem)) {
	o := d.opts
	o.Cluster = d.clusterOf(r)
	o.DecodePayload(r.Value, emit, problem)
}

// clusterOf names the record's cluster: the configured header, else the
// configured field of the message, else cluster_name. An event's own
// annotations.cluster_name still wins over all of them (ka.cluster.name).
func (d *decoder) clusterOf(r *kgo.Record) string {
	if d.clusterHeader != "" {
		for _, h := range r.Headers {
			if h.Key == d.clusterHeader && len(h.Value) > 0 {
				return string(h.Value)
			}
		}
	}
	if len(d.clusterField) > 0 {
		if v, t, _, err := jsonparser.Get(r.Value, d.clusterField...); err == nil && t == jsonparser.String {
			if s, err := jsonparser.ParseString(v); err == nil && s != "" {
				return s
			}
		}
	}
	return d.cluster
}

// envelopeFormat reads the audit payload at path in a shipper's message:
// a JSON string holding the event (Fluent Bit's and Vector's "log" or
// "message" of a raw line) or the event object itself.
func envelopeFormat(path []string) *audit.Format {
	return &audit.Format{
		Name: "envelope",
		Match: func(doc []byte) bool {
			_, t, _, err := jsonparser.Get(doc, path...)
			return err == nil && (t == jsonparser.String || t == jsonparser.Object || t == jsonparser.Array)
		},
		Convert: func(doc []byte, emit func([]byte, string), skip func(reason, msg string)) {
			v, t, _, _ := jsonparser.Get(doc, path...)
			if p, ok := payload(v, t); ok {
				emit(p, "")
				return
			}
			skip(audit.ReasonMalformed, "the event field holds a string that cannot be unescaped")
		},
	}
}

// recordsFormat reads Azure diagnostic-setting bodies. Records of other
// categories (kube-apiserver's own log lines, ...) share the stream when
// a diagnostic setting sends several: they are skipped as not-audit.
var recordsFormat = &audit.Format{
	Name: "records",
	Match: func(doc []byte) bool {
		_, t, _, err := jsonparser.Get(doc, "records")
		return err == nil && t == jsonparser.Array
	},
	Convert: func(doc []byte, emit func([]byte, string), skip func(reason, msg string)) {
		recs, _, _, _ := jsonparser.Get(doc, "records")
		_, _ = jsonparser.ArrayEach(recs, func(rec []byte, _ jsonparser.ValueType, _ int, _ error) {
			cat, _ := jsonparser.GetString(rec, "category")
			if cat != "" && cat != "kube-audit" && cat != "kube-audit-admin" {
				skip(audit.ReasonNotAudit, "record of category "+quote(cat))
				return
			}
			v, t, _, err := jsonparser.Get(rec, "properties", "log")
			if p, ok := payload(v, t); err == nil && ok {
				emit(p, "")
				return
			}
			skip(audit.ReasonNotAudit, "record without properties.log")
		})
	},
}

// payload gives the JSON bytes a field holds: a string's content, or an
// object or array as it is.
func payload(v []byte, t jsonparser.ValueType) ([]byte, bool) {
	switch t {
	case jsonparser.Object, jsonparser.Array:
		return v, true
	case jsonparser.String:
		s, err := jsonparser.Unescape(v, nil)
		return s, err == nil
	}
	return nil, false
}

// quote shortens a name for a message.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return `"` + s + `"`
}
