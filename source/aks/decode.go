package aks

import (
	"errors"

	"github.com/buger/jsonparser"

	"github.com/peregrine-sec/peregrine/audit"
)

// decoder turns diagnostic records into audit events. The live source and
// the archive reader share it; they differ in what they do with a skip.
type decoder struct {
	opts       audit.Options // MaxEventSize
	cfg        Config
	openParams string
	// skip is called once per record (or body) that yields no event.
	skip func(reason, msg string)
	// category, when set, is called with each record's category.
	category func(string)
}

// body decodes one message body or archive line.
func (d *decoder) body(doc []byte, emit func(*audit.Event)) {
	err := EachRecord(doc, func(r *Record) { d.record(r, emit) })
	if err != nil {
		reason := audit.ReasonMalformed
		if errors.Is(err, errNotRecords) {
			reason = audit.ReasonNotAudit
		}
		d.skip(reason, err.Error())
	}
}

// record decodes the audit event of one record; events get the record's
// cluster name as their ka.cluster.name fallback.
func (d *decoder) record(r *Record, emit func(*audit.Event)) {
	if d.category != nil {
		d.category(r.Category)
	}
	if !r.IsAudit() {
		d.skip(ReasonCategory, "record of category "+r.Category+" skipped")
		return
	}
	if r.Log == nil {
		d.skip(audit.ReasonNotAudit, "record without properties.log")
		return
	}
	if !whole(r.Log) {
		d.skip(Broken(r.Log))
		return
	}
	cluster := ClusterFor(d.cfg, d.openParams, r.ResourceID)
	d.opts.DecodePayload(r.Log, func(e *audit.Event) {
		e.Cluster = cluster
		emit(e)
	}, func(p audit.Problem) {
		if p.Reason == audit.ReasonMalformed {
			d.skip(Broken(r.Log))
			return
		}
		d.skip(p.Reason, p.Msg)
	})
}

// Format reads AKS diagnostic records in `peregrine replay`: PT1H.json
// blobs (one record per line) and {"records":[...]} bodies saved from
// Event Hubs. Without --cluster, ka.cluster.name falls back to the cluster
// segment of each record's resourceId, as the live source does.
var Format = &audit.Format{
	Name:    "aks",
	Match:   matchRecords,
	Convert: convertRecords,
}

func matchRecords(doc []byte) bool {
	if _, t, _, err := jsonparser.Get(doc, "records"); err == nil && t == jsonparser.Array {
		return true
	}
	return IsRecord(doc)
}

func convertRecords(doc []byte, emit func([]byte, string), skip func(reason, msg string)) {
	err := EachRecord(doc, func(r *Record) {
		switch {
		case !r.IsAudit():
			skip(ReasonCategory, "record of category "+r.Category+" skipped")
		case r.Log == nil:
			skip(audit.ReasonNotAudit, "record without properties.log")
		case !whole(r.Log):
			skip(Broken(r.Log))
		default:
			emit(r.Log, ClusterOfResource(r.ResourceID))
		}
	})
	if err != nil {
		reason := audit.ReasonMalformed
		if errors.Is(err, errNotRecords) {
			reason = audit.ReasonNotAudit
		}
		skip(reason, err.Error())
	}
}
