// Package fields defines every field a k8s_audit rule can use: the ka.*
// fields of the k8saudit plugin, the json.*/jevt.* fields of the json
// plugin, Falco's evt.* fields, and Peregrine's few extensions.
//
// It sits between the event and the rules:
//
//	audit.Event ──► fields ──► condition compiler (checks in rules)
//	                      └──► output formatter (%fields in outputs)
//
// One table (table.go) holds each field's name, type, argument kind,
// description and extractor. The condition compiler looks fields up and
// parses their arguments once, when rules load (Table.Lookup,
// Field.ParseArg); the engine then calls Field.Extract for each event.
// `peregrine fields` and docs/FIELDS.md print the same table.
//
// Extraction follows the k8saudit plugin exactly, quirks included, except
// where docs/COMPATIBILITY.md ("Fields") says Peregrine fixes a bug.
// Extractors read the event's raw JSON through audit.Value without
// decoding it, and a single string value costs no allocation: it is a view
// of the event's bytes.
package fields
