// Package defaultrules embeds the rules Peregrine ships, used when neither
// -r nor rules_files names any. They are ordinary Falco-language rules
// files: users can read, override and append to them.
package defaultrules

import (
	"embed"
	"io/fs"
	"path"
	"sort"

	"github.com/peregrine-sec/peregrine/rules"
)

//go:embed *.yaml
var files embed.FS

// Sources returns the embedded rules files in name order, named
// "<embedded>/FILE" in messages.
func Sources() []rules.Source {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		panic(err) // the pattern is constant
	}
	sort.Strings(names)
	out := make([]rules.Source, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		out = append(out, rules.Source{Name: path.Join("<embedded>", n), Data: b})
	}
	return out
}
