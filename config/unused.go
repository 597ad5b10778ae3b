package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/peregrine-sec/peregrine/internal/kafkaconn"
	"github.com/peregrine-sec/peregrine/internal/keys"
)

// schemaBlocks are the top-level mappings whose keys are read one by one:
// a key in them that nothing reads (a typo, or a Falco key Peregrine has
// no use for) is warned about as a top-level one is. static_fields,
// plugins, rules and append_output hold the user's data instead.
var schemaBlocks = []string{"webserver", "file_output", "stdout_output", "syslog_output",
	"program_output", "http_output", "outputs", "outputs_queue", "peregrine"}

// kafkaOutputKeys are what KafkaOutput reads, through kafkaconn.
var kafkaOutputKeys = append(slices.Clone(kafkaconn.ConnKeys), "enabled", "topic", "key", "compression", "timeout")

// warnUnused warns once about each key nothing reads: top-level keys, and
// keys inside the blocks of known shape, with the key probably meant.
func (c *Config) warnUnused(d *decoder) {
	for _, k := range sortedKeys(c.Raw) {
		if !usedKeys[k] && !laterKeys[k] {
			d.warn(k, unusedMsg(k, ""))
		}
	}
	for _, b := range schemaBlocks {
		if m, ok := c.Raw[b].(map[string]any); ok {
			d.warnUnusedIn(b, m)
		}
	}
	if m, ok := c.Raw["kafka_output"].(map[string]any); ok {
		for _, u := range keys.Find(m, kafkaOutputKeys) {
			meant := ""
			if u.Suggestion != "" {
				meant = "kafka_output." + u.Suggestion
			}
			d.warn("kafka_output."+u.Key, unusedMsg("kafka_output."+u.Key, meant))
		}
	}
}

// warnUnusedIn warns about the keys of m, the mapping at path, that the
// decoder never read, and walks into the mappings it read keys of.
func (d *decoder) warnUnusedIn(path string, m map[string]any) {
	known := d.readUnder(path)
	for _, k := range sortedKeys(m) {
		p := path + "." + k
		if !d.read[p] {
			meant := ""
			if s := keys.Suggest(k, known); s != "" {
				meant = path + "." + s
			}
			d.warn(p, unusedMsg(p, meant))
			continue
		}
		if sub, ok := m[k].(map[string]any); ok && len(d.readUnder(p)) > 0 {
			d.warnUnusedIn(p, sub)
		}
	}
}

// readUnder returns the names read directly under path, sorted.
func (d *decoder) readUnder(path string) []string {
	var names []string
	for p := range d.read {
		if rest, ok := strings.CutPrefix(p, path+"."); ok && !strings.Contains(rest, ".") {
			names = append(names, rest)
		}
	}
	sort.Strings(names)
	return names
}

func unusedMsg(key, meant string) string {
	msg := fmt.Sprintf("config key %q is not used by Peregrine; ignored", key)
	if meant != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", meant)
	}
	return msg
}
