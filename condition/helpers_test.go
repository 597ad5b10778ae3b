package condition

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// sexpr prints a tree with its structure and flags visible, for tests:
// (or a (and b (not c))), (= ka.verb create), (in ka.x [a "b"]), (in ka.x {foo}).
func sexpr(n Node) string {
	switch n := n.(type) {
	case *And:
		return "(and " + sexprAll(n.Terms) + ")"
	case *Or:
		return "(or " + sexprAll(n.Terms) + ")"
	case *Not:
		return "(not " + sexpr(n.X) + ")"
	case *MacroRef:
		return n.Name
	case *Check:
		op := n.Op.String()
		if n.Mod != ModNone {
			op += "/" + n.Mod.String()
		}
		if n.Right == nil {
			return "(" + op + " " + sexpr(n.Left) + ")"
		}
		return "(" + op + " " + sexpr(n.Left) + " " + sexpr(n.Right) + ")"
	case *FieldRef:
		s := n.Name
		if n.HasArg {
			if n.ArgQuoted {
				s += fmt.Sprintf("[%q]", n.Arg)
			} else {
				s += "[" + n.Arg + "]"
			}
		}
		if n.Val {
			s = "val(" + s + ")"
		}
		return s
	case *Transform:
		return "(" + n.Name + "() " + sexprAll(n.Args) + ")"
	case *Value:
		if n.Quoted {
			return fmt.Sprintf("%q", n.Text)
		}
		return n.Text
	case *List:
		items := make([]string, len(n.Items))
		for i, v := range n.Items {
			items[i] = sexpr(v)
		}
		if n.Paren {
			return "[" + strings.Join(items, " ") + "]"
		}
		return "{" + strings.Join(items, " ") + "}"
	}
	return fmt.Sprintf("?%T", n)
}

func sexprAll(nodes []Node) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = sexpr(n)
	}
	return strings.Join(s, " ")
}

// clearPositions zeroes every position in a tree the caller owns, so trees
// can be compared with reflect.DeepEqual.
func clearPositions(n Node) {
	Inspect(n, func(n Node) bool {
		switch n := n.(type) {
		case *And:
			n.At = 0
		case *Or:
			n.At = 0
		case *Not:
			n.At = 0
		case *MacroRef:
			n.At = 0
		case *Check:
			n.At = 0
		case *FieldRef:
			n.At = 0
		case *Transform:
			n.At = 0
		case *Value:
			n.At = 0
		case *List:
			n.At = 0
		}
		return true
	})
}

// checkParse checks the invariants every Parse result must hold, whatever
// the input: errors are *Error inside the input and render; a tree prints
// as text that parses back to the same tree and prints the same again.
func checkParse(t testing.TB, src string, n Node, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Parse(%q): error %T is not *Error: %v", src, err, err)
		}
		if e.Pos < 0 || int(e.Pos) > len(src) {
			t.Fatalf("Parse(%q): error position %d outside the input (len %d): %s", src, e.Pos, len(src), e.Msg)
		}
		if strings.Contains(e.Msg, "internal") || e.Msg == "" {
			t.Fatalf("Parse(%q): bad message %q", src, e.Msg)
		}
		_ = e.Render(src)
		return
	}
	if n == nil {
		t.Fatalf("Parse(%q): nil tree and nil error", src)
	}
	checkPositions(t, src, n)
	printed := n.String()
	n2, err := Parse(printed)
	if err != nil {
		t.Fatalf("Parse(%q).String() = %q does not parse: %v", src, printed, err)
	}
	if again := n2.String(); again != printed {
		t.Fatalf("String is not stable for %q: %q then %q", src, printed, again)
	}
	clearPositions(n)
	clearPositions(n2)
	if !reflect.DeepEqual(n, n2) {
		t.Fatalf("round trip of %q changed the tree:\n  %s\n  %s", src, sexpr(n), sexpr(n2))
	}
}

// checkPositions checks that every node's position lies inside src.
func checkPositions(t testing.TB, src string, n Node) {
	t.Helper()
	Inspect(n, func(n Node) bool {
		if p := n.Position(); p < 0 || int(p) >= len(src) {
			t.Fatalf("Parse(%q): %T at %d, outside the input", src, n, p)
		}
		return true
	})
}
