// Package condition is the condition language of Falco rules: the text after
// "condition:" in a rules file, such as
//
//	ka.verb in (create, update) and not ka.user.name startswith system:
//
// It sits between the rules loader and the evaluators:
//
//	rules text ──(rules/)──▶ condition string
//	         ──Parse──▶ syntax tree (ast.go) with macro references and list names
//	         ──Expand──▶ self-contained tree: macros inlined, list names replaced by items
//	         ──compiler──▶ evaluators that run on each audit event
//
// Parse (lexer.go, parser.go) follows libsinsp's grammar and messages, quirks
// included where RULES-LANGUAGE.md §2.1 asks for them. It records byte
// offsets only; Error.Render turns one into line:column and a caret. Every
// node prints back as canonical condition text (print.go), and parsing that
// text again gives the same tree.
//
// Expand (expand.go) resolves macros and lists on the tree, not by text
// substitution as Falco does, so list names inside quoted strings stay
// literal and errors point at text the user wrote. Warnings (warn.go)
// reports Falco's load warnings that need only the syntax, such as
// comparing a ka.* field with "<NA>".
//
// The package imports nothing from the rest of Peregrine except, in the
// compiler, the field table; the engine and the rules loader import it.
package condition
