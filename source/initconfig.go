package source

import (
	"fmt"
	"log/slog"

	"github.com/peregrine-sec/peregrine/internal/keys"
)

// UnknownKeys returns one warning per key of initConfig that the plugin
// does not read (keys.Find), sorted, naming the known key it was
// probably meant to be. Warnings name keys, never values.
func UnknownKeys(plugin string, initConfig map[string]any, known []string) []string {
	var out []string
	for _, u := range keys.Find(initConfig, known) {
		w := fmt.Sprintf("init_config key %q is not used by %s; ignored", u.Key, plugin)
		if u.Suggestion != "" {
			w += fmt.Sprintf(" (did you mean %q?)", u.Suggestion)
		}
		out = append(out, w)
	}
	return out
}

// Warn logs each of warnings once at Warn level through e.Log (the
// default logger when unset), so that `peregrine run` shows what
// `peregrine validate -c` reports.
func (e Env) Warn(warnings []string) {
	log := e.Log
	if log == nil {
		log = slog.Default()
	}
	for _, w := range warnings {
		log.Warn(w)
	}
}
