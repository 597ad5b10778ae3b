package condition

// Inspect walks the tree rooted at n depth-first, in source order. It calls
// f(n) first; if f returns true, Inspect then walks each child of n. Nil
// nodes are skipped.
func Inspect(n Node, f func(Node) bool) {
	if n == nil || !f(n) {
		return
	}
	switch n := n.(type) {
	case *And:
		inspectAll(n.Terms, f)
	case *Or:
		inspectAll(n.Terms, f)
	case *Not:
		Inspect(n.X, f)
	case *Check:
		Inspect(n.Left, f)
		if n.Right != nil {
			Inspect(n.Right, f)
		}
	case *Transform:
		inspectAll(n.Args, f)
	case *List:
		for _, v := range n.Items {
			Inspect(v, f)
		}
	}
}

func inspectAll(nodes []Node, f func(Node) bool) {
	for _, c := range nodes {
		Inspect(c, f)
	}
}
