package rules_test

import (
	"fmt"
	"strings"

	"github.com/peregrine-sec/peregrine/rules"
)

func ExampleLoad() {
	base := `
- list: allowed_users
  items: [admin]
- rule: Disallowed User
  desc: an operation by a user outside the allowed list
  condition: ka.user.name exists and not ka.user.name in (allowed_users)
  output: user=%ka.user.name
  priority: WARNING
  source: k8s_audit
`
	local := `
- list: allowed_users
  items: [ci-bot]
  override:
    items: append
- rule: Disallowed User
  condition: and ka.verb != get
  override:
    condition: append
`
	col, rep := rules.Load([]rules.Source{
		{Name: "base.yaml", Data: []byte(base)},
		{Name: "local.yaml", Data: []byte(local)},
	}, rules.Options{})
	if err := rep.Err(); err != nil {
		fmt.Println(err)
		return
	}
	r := col.Rule("Disallowed User")
	fmt.Println(col.List("allowed_users").Items)
	fmt.Println(r.Condition.S)
	fmt.Println(r.Priority, r.Source, r.Pos)
	// Output:
	// [admin ci-bot]
	// ka.user.name exists and not ka.user.name in (allowed_users) and ka.verb != get
	// Warning k8s_audit base.yaml:4:3
}

func ExampleText_Position() {
	src := `- macro: m
  condition: >
    ka.verb = create and
      ka.nope = x
`
	col, _ := rules.Load([]rules.Source{{Name: "m.yaml", Data: []byte(src)}}, rules.Options{})
	cond := col.Macro("m").Condition
	// An error the condition parser reports at the offset of "ka.nope":
	off := strings.Index(cond.S, "ka.nope")
	fmt.Println(cond.Position(off))
	// Output: m.yaml:4:7
}

func ExampleCollection_Apply() {
	src := `
- rule: Create Pod
  desc: d
  condition: ka.verb = create
  output: o
  priority: INFO
  tags: [k8s]
- rule: Delete Pod
  desc: d
  condition: ka.verb = delete
  output: o
  priority: INFO
`
	col, _ := rules.Load([]rules.Source{{Name: "r.yaml", Data: []byte(src)}}, rules.Options{})
	col.Apply([]rules.Selector{{Enable: false, Rule: "*"}, {Enable: true, Tag: "k8s"}})
	for _, r := range col.Rules {
		fmt.Println(r.Name, r.Enabled)
	}
	// Output:
	// Create Pod true
	// Delete Pod false
}
