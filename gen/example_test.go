package gen_test

import (
	"bytes"
	"fmt"

	"github.com/peregrine-sec/peregrine/gen"
)

// A thousand events of a busy cluster, one in a hundred an attack, as JSON
// lines in memory.
func ExampleNew() {
	o := gen.DefaultOptions()
	o.Events = 1000
	o.AttackShare = 0.01
	g, err := gen.New(o)
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	if _, err := g.WriteTo(&out); err != nil {
		panic(err)
	}
	st := g.Stats()
	fmt.Println(st.Events, "events,", st.ByClass["attack"], "attacks,", bytes.Count(out.Bytes(), []byte("\n")), "lines")
	// Output: 1000 events, 11 attacks, 1000 lines
}
