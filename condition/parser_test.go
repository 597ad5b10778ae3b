package condition

import (
	"strings"
	"testing"
)

// parseTests maps a condition to its tree (sexpr form), its canonical text
// (String) or its rendered error. An empty want means the input is
// already canonical.
var parseTests = []struct {
	name string
	in   string
	tree string // expected sexpr; "" to skip
	want string // expected String(); "" means in itself
	err  string // expected Render output
}{
	// Operators, each with the right-hand sides it accepts.
	{name: "exists", in: "ka.user.name exists", tree: "(exists ka.user.name)"},
	{name: "exists in parens", in: "(jevt.rawtime exists)", tree: "(exists jevt.rawtime)", want: "jevt.rawtime exists"},
	{name: "le", in: "ka.response.code <= 400", tree: "(<= ka.response.code 400)"},
	{name: "lt", in: "ka.response.code < 400", tree: "(< ka.response.code 400)"},
	{name: "ge", in: "ka.response.code >= 400", tree: "(>= ka.response.code 400)"},
	{name: "gt", in: "ka.response.code > 400", tree: "(> ka.response.code 400)"},
	{name: "numbers", in: "a.b > -1.5e+3 and a.b < 0x1F and a.b >= +7",
		tree: "(and (> a.b -1.5e+3) (< a.b 0x1F) (>= a.b +7))"},
	{name: "eqeq", in: "ka.verb == create", tree: "(== ka.verb create)"},
	{name: "eq", in: "ka.verb = create", tree: "(= ka.verb create)"},
	{name: "ne", in: "ka.verb != create", tree: "(!= ka.verb create)"},
	{name: "glob", in: "ka.uri glob /api/*", tree: "(glob ka.uri /api/*)"},
	{name: "iglob", in: "ka.uri iglob /API/*", tree: "(iglob ka.uri /API/*)"},
	{name: "contains", in: "ka.uri contains /exec", tree: "(contains ka.uri /exec)"},
	{name: "icontains", in: "ka.uri icontains EXEC", tree: "(icontains ka.uri EXEC)"},
	{name: "bcontains", in: "evt.buffer bcontains 0a0b", tree: "(bcontains evt.buffer 0a0b)"},
	{name: "startswith", in: "ka.uri startswith /api", tree: "(startswith ka.uri /api)"},
	{name: "bstartswith", in: "evt.buffer bstartswith 0a", tree: "(bstartswith evt.buffer 0a)"},
	{name: "endswith", in: "ka.uri endswith /exec", tree: "(endswith ka.uri /exec)"},
	{name: "regex", in: `ka.uri regex "^/api/v[0-9]+$"`, tree: `(regex ka.uri "^/api/v[0-9]+$")`},
	{name: "intersects", in: "ka.user.groups intersects (system:masters, admins)",
		tree: "(intersects ka.user.groups [system:masters admins])"},
	{name: "in", in: "ka.verb in (create, update, patch)", tree: "(in ka.verb [create update patch])"},
	{name: "pmatch", in: "fd.name pmatch (/etc, /var/run)", tree: "(pmatch fd.name [/etc /var/run])"},
	{name: "in without blank", in: "ka.verb in(create)", tree: "(in ka.verb [create])", want: "ka.verb in (create)"},
	{name: "in list name", in: "ka.verb in foo", tree: "(in ka.verb {foo})"},
	{name: "in list name then and", in: "ka.verb in foo and ka.uri = x", tree: "(and (in ka.verb {foo}) (= ka.uri x))"},
	{name: "in empty list", in: "ka.verb in ()", tree: "(in ka.verb [])"},
	{name: "in empty list blanks", in: "ka.verb in ( )", tree: "(in ka.verb [])", want: "ka.verb in ()"},
	{name: "list quoted items", in: `ka.verb in ("a b", 'c', d)`, tree: `(in ka.verb ["a b" "c" d])`, want: `ka.verb in ("a b", "c", d)`},
	{name: "list blanks", in: "ka.verb in (\n  a ,b\t,\r\nc )", tree: "(in ka.verb [a b c])", want: "ka.verb in (a, b, c)"},
	{name: "string op with list modifier", in: "ka.uri startswith oneof (/a, /b)", tree: "(startswith/oneof ka.uri [/a /b])"},
	{name: "anyof", in: "ka.uri contains anyof (x)", tree: "(contains/anyof ka.uri [x])"},
	{name: "allof", in: "ka.uri endswith allof(x, y)", tree: "(endswith/allof ka.uri [x y])", want: "ka.uri endswith allof (x, y)"},
	{name: "eqeq anyof", in: "ka.verb == anyof (a, b)", tree: "(==/anyof ka.verb [a b])"},
	{name: "modifier word as value", in: "ka.verb = oneof and ka.uri = anyof", tree: "(and (= ka.verb oneof) (= ka.uri anyof))"},

	// Blanks and bare strings.
	{name: "no blanks", in: "ka.verb=create", tree: "(= ka.verb create)", want: "ka.verb = create"},
	{name: "no blanks ne", in: "ka.verb!=create", tree: "(!= ka.verb create)", want: "ka.verb != create"},
	{name: "bare with question mark", in: "ka.uri startswith /healthz?", tree: "(startswith ka.uri /healthz?)"},
	{name: "bare lt value", in: "evt.dir = <", tree: "(= evt.dir <)"},
	{name: "bare gt value no blank", in: "evt.dir=>", tree: "(= evt.dir >)", want: "evt.dir = >"},
	{name: "bare with brackets and colons", in: "proc.name = runc:[1:CHILD]", tree: "(= proc.name runc:[1:CHILD])"},
	{name: "bare number after eq", in: "ka.response.code = 403", tree: "(= ka.response.code 403)"},
	{name: "keyword after quoted", in: `a.b = "x"and c.d = y`, tree: `(and (= a.b "x") (= c.d y))`, want: `a.b = "x" and c.d = y`},
	{name: "keyword after paren", in: "(a)or(b)", tree: "(or a b)", want: "a or b"},
	{name: "leading and trailing blanks", in: " \t\na.b exists \r\n", tree: "(exists a.b)", want: "a.b exists"},
	{name: "newline blanks", in: "a.b = c\nand\nd.e = f", tree: "(and (= a.b c) (= d.e f))", want: "a.b = c and d.e = f"},

	// Quoted strings and their escapes.
	{name: "escapes", in: `a.b = "\b\f\n\r\t\\\/"`, tree: "(= a.b \"\\b\\f\\n\\r\\t\\\\/\")", want: `a.b = "\b\f\n\r\t\\/"`},
	{name: "escaped double quote", in: `a.b = "say \"hi\""`, tree: `(= a.b "say \"hi\"")`},
	{name: "escaped single quote", in: `a.b = 'it\'s'`, tree: `(= a.b "it's")`, want: `a.b = "it's"`},
	{name: "single quote inside double", in: `a.b = "it's"`, tree: `(= a.b "it's")`},
	{name: "hex escape", in: `a.b = "\x41\x7e"`, tree: `(= a.b "A~")`, want: `a.b = "A~"`},
	{name: "backslash space quirk", in: `proc.args contains "\ " or proc.args endswith \`,
		tree: `(or (contains proc.args "\\") (endswith proc.args \))`,
		want: `proc.args contains "\x5c" or proc.args endswith \`},
	{name: "backslash space mid string", in: `a.b = "a\ b"`, tree: `(= a.b "a\\b")`, want: `a.b = "a\\b"`},
	{name: "escaped backslash then quote does not close", in: `a.b = "a\\" x"`, tree: `(= a.b "a\\\" x")`, want: `a.b = "a\\\" x"`},
	{name: "empty quoted", in: `a.b = ""`, tree: `(= a.b "")`},
	{name: "quoted with parens", in: `a.b contains "(x, y)"`, tree: `(contains a.b "(x, y)")`},
	{name: "quoted multibyte", in: `a.b = "héllo ✓"`, tree: `(= a.b "héllo ✓")`},
	{name: "control byte printed as hex", in: "a.b = \"x\x01y\"", tree: "(= a.b \"x\\x01y\")", want: `a.b = "x\x01y"`},

	// Field arguments.
	{name: "bare arg", in: "jevt.value[/requestObject/spec/volumes] exists", tree: "(exists jevt.value[/requestObject/spec/volumes])"},
	{name: "quoted arg", in: `ka.uri.param["a b"] = x`, tree: `(= ka.uri.param["a b"] x)`},
	{name: "single quoted arg", in: `ka.uri.param['a'] = x`, tree: `(= ka.uri.param["a"] x)`, want: `ka.uri.param["a"] = x`},
	{name: "pointer arg with tilde", in: "jevt.value[/metadata/annotations/example.com~1foo] = bar",
		tree: "(= jevt.value[/metadata/annotations/example.com~1foo] bar)"},
	{name: "index arg", in: "ka.req.pod.containers.image[0] = nginx", tree: "(= ka.req.pod.containers.image[0] nginx)"},
	{name: "empty quoted arg", in: `jevt.value[""] exists`, tree: `(exists jevt.value[""])`},
	{name: "arg with parens and equals", in: "jevt.value[a(b)=c,d] exists", tree: "(exists jevt.value[a(b)=c,d])"},
	{name: "arg then op without blank", in: "jevt.value[/x]=y", tree: "(= jevt.value[/x] y)", want: "jevt.value[/x] = y"},

	// Transformers and val().
	{name: "transformer", in: "tolower(ka.user.name) = admin", tree: "(= (tolower() ka.user.name) admin)"},
	{name: "nested transformers", in: "tolower(basename(ka.uri)) = foo", tree: "(= (tolower() (basename() ka.uri)) foo)"},
	{name: "transformer blanks", in: "toupper( b64( ka.x ) ) = A", tree: "(= (toupper() (b64() ka.x)) A)", want: "toupper(b64(ka.x)) = A"},
	{name: "len numeric", in: "len(ka.user.groups) >= 2", tree: "(>= (len() ka.user.groups) 2)"},
	{name: "transformer with arg field", in: `tolower(jevt.value["/a b"]) exists`, tree: `(exists (tolower() jevt.value["/a b"]))`},
	{name: "multi-arg transformers", in: `join(",", ka.user.groups) = "a,b" and concat(ka.verb, "-", 1) = x`,
		tree: `(and (= (join() "," ka.user.groups) "a,b") (= (concat() ka.verb "-" 1) x))`},
	{name: "transformer list arg", in: `getopt(proc.args, ("-f", 2), ()) = x`, tree: `(= (getopt() proc.args ["-f" 2] []) x)`},
	{name: "val", in: "ka.user.name = val(ka.target.name)", tree: "(= ka.user.name val(ka.target.name))"},
	{name: "val with blanks and arg", in: "ka.x != val( jevt.value[/a] )", tree: "(!= ka.x val(jevt.value[/a]))", want: "ka.x != val(jevt.value[/a])"},
	{name: "val numeric", in: "a.b > val(c.d)", tree: "(> a.b val(c.d))"},
	{name: "val list", in: "a.b in val(c.d)", tree: "(in a.b val(c.d))"},
	{name: "transformer on the right", in: "a.b = tolower(c.d)", tree: "(= a.b (tolower() c.d))"},
	{name: "transformer on the right of in", in: "a.b in tolower(c.d)", tree: "(in a.b (tolower() c.d))"},
	{name: "transformer name as bare value", in: "a.b = tolower", tree: "(= a.b tolower)"},

	// Logic: precedence, n-ary chains, not.
	{name: "precedence", in: "a or b and not c", tree: "(or a (and b (not c)))"},
	{name: "and chain", in: "a and b and c", tree: "(and a b c)"},
	{name: "or chain", in: "a or b or c", tree: "(or a b c)"},
	{name: "mixed chain", in: "a and b or c and d", tree: "(or (and a b) (and c d))"},
	{name: "group kept", in: "a and (b or c)", tree: "(and a (or b c))"},
	{name: "same-kind group kept", in: "a or (b or c)", tree: "(or a (or b c))"},
	{name: "and group kept", in: "(a and b) and c", tree: "(and (and a b) c)"},
	{name: "redundant parens", in: "((a)) and (((b)))", tree: "(and a b)", want: "a and b"},
	{name: "or group no blank", in: "a or(b)", tree: "(or a b)", want: "a or b"},
	{name: "and group no blank", in: "a and(b) and c", tree: "(and a b c)", want: "a and b and c"},
	{name: "or then group then or", in: "a or(b) or c", tree: "(or a b c)", want: "a or b or c"},
	{name: "not", in: "not a", tree: "(not a)"},
	{name: "not not", in: "not not a", tree: "a", want: "a"},
	{name: "not not not", in: "not  not\tnot a.b exists", tree: "(not (exists a.b))", want: "not a.b exists"},
	{name: "not paren", in: "not(a)", tree: "(not a)", want: "not a"},
	{name: "not not paren", in: "not not(a or b)", tree: "(or a b)", want: "a or b"},
	{name: "not group", in: "not (a and b)", tree: "(not (and a b))"},
	{name: "not of not group", in: "not (not a)", tree: "(not (not a))"},
	{name: "not binds tight", in: "not a and b", tree: "(and (not a) b)"},
	{name: "not newline", in: "not\na", tree: "(not a)", want: "not a"},
	{name: "not as field prefix", in: "not.x = 1", tree: "(= not.x 1)"},
	{name: "macro names", in: "k8s_audit and never_true_2 or AND", tree: "(or (and k8s_audit never_true_2) AND)"},
	{name: "upper case keyword is a macro", in: "a AND", err: `1:3: unexpected token after 'a', expecting 'or', 'and'
   | a AND
   |   ^`},
	{name: "check", in: "ka.verb = create and ka.target.resource in (pods, deployments) and not ka.user.name startswith system:",
		tree: "(and (= ka.verb create) (in ka.target.resource [pods deployments]) (not (startswith ka.user.name system:)))"},

	// Errors.
	{name: "empty", in: "", err: "1:1: filter input string is empty\n   | \n   | ^"},
	{name: "blank", in: " \n ", err: "1:1: filter input string is empty\n   |  \n   | ^"},
	{name: "trailing token", in: "ka.verb = create x", err: `1:18: unexpected token after 'create', expecting 'or', 'and'
   | ka.verb = create x
   |                  ^`},
	{name: "stray close paren", in: "a.b exists)", err: `1:11: unexpected token after 'exists', expecting 'or', 'and'
   | a.b exists)
   |           ^`},
	{name: "bare stops at equals", in: "ka.uri=/a=b", err: `1:10: unexpected token after '/a', expecting 'or', 'and'
   | ka.uri=/a=b
   |          ^`},
	{name: "unknown escape", in: `a.b = "x\q"`, err: `1:9: unsupported string escape sequence: \q
   | a.b = "x\q"
   |         ^`},
	{name: "double quote escape in single quotes", in: `a.b = 'x\"'`, err: `1:9: invalid \" escape in '-quoted string
   | a.b = 'x\"'
   |         ^`},
	{name: "single quote escape in double quotes", in: `a.b = "x\'"`, err: `1:9: invalid \' escape in "-quoted string
   | a.b = "x\'"
   |         ^`},
	{name: "bad hex escape", in: `a.b = "\xZZ"`, err: `1:8: invalid \x escape: expected two hex digits
   | a.b = "\xZZ"
   |        ^`},
	{name: "NUL escape", in: `a.b = "\x00"`, err: `1:8: a filter value must not contain a NUL byte
   | a.b = "\x00"
   |        ^`},
	{name: "NUL byte", in: "a.b = x\x00", err: "1:8: a filter value must not contain a NUL byte\n   | a.b = x\x00\n   |        ^"},
	{name: "escaped backslash leaves string open", in: `a.b = "a\\"`, err: `1:7: unterminated quoted string
   | a.b = "a\\"
   |       ^`},
	{name: "unterminated", in: `a.b = 'abc`, err: `1:7: unterminated quoted string
   | a.b = 'abc
   |       ^`},
	{name: "unclosed group", in: "(a and b", err: `1:9: expected ')', found end of condition
   | (a and b
   |         ^`},
	{name: "group junk", in: "(a b)", err: `1:4: expected 'and', 'or' or ')' after 'a', found 'b'
   | (a b)
   |    ^`},
	{name: "or paren then and", in: "a or(b) and c", err: `1:9: unexpected token after ')', expecting 'or', 'and'
   | a or(b) and c
   |         ^`},
	{name: "missing operand", in: "a and", err: `1:6: expected blank or '(' after 'and'
   | a and
   |      ^`},
	{name: "missing operand after blank", in: "a and ", err: `1:7: expected a field, a macro name, 'not' or '(', found end of condition
   | a and 
   |       ^`},
	{name: "keyword as macro", in: "a and and", err: `1:7: expected a field, a macro name, 'not' or '(', found 'and'
   | a and and
   |       ^`},
	{name: "dangling not", in: "a and not", err: `1:10: expected a check after 'not', found end of condition
   | a and not
   |          ^`},
	{name: "not before close paren", in: "(not)", err: `1:5: expected a check after 'not', found ')'
   | (not)
   |     ^`},
	{name: "and glued", in: `a.b = "x" and"y"`, err: `1:14: expected blank or '(' after 'and'
   | a.b = "x" and"y"
   |              ^`},
	{name: "missing operator", in: "ka.verb create", err: `1:9: expected a comparison operator after 'ka.verb', found 'create'
   | ka.verb create
   |         ^`},
	{name: "missing operator at end", in: "ka.verb", err: `1:8: expected a comparison operator after 'ka.verb', found end of condition
   | ka.verb
   |        ^`},
	{name: "word operator needs blank", in: `ka.uri contains"x"`, err: `1:16: expected a blank after 'contains'
   | ka.uri contains"x"
   |                ^`},
	{name: "unknown word operator", in: "ka.verb inside (a)", err: `1:9: expected a comparison operator after 'ka.verb', found 'inside'
   | ka.verb inside (a)
   |         ^`},
	{name: "numeric op needs number", in: "ka.response.code >= abc", err: `1:21: expected a number, val(field) or a transformer after '>=', found 'abc'
   | ka.response.code >= abc
   |                     ^`},
	{name: "number then junk", in: "a.b > 1e5", err: `1:8: unexpected token after '1', expecting 'or', 'and'
   | a.b > 1e5
   |        ^`},
	{name: "string op needs value", in: "a.b = (x)", err: `1:7: expected a string, val(field) or a transformer after '=', found '('
   | a.b = (x)
   |       ^`},
	{name: "string op at end", in: "a.b startswith ", err: `1:16: expected a string, val(field) or a transformer after 'startswith', found end of condition
   | a.b startswith 
   |                ^`},
	{name: "list op needs list", in: `a.b in "x"`, err: `1:8: expected a list, a list name, val(field) or a transformer after 'in', found '"'
   | a.b in "x"
   |        ^`},
	{name: "list op with field", in: "a.b in c.d", err: `1:8: expected a list, a list name, val(field) or a transformer after 'in', found field 'c.d' (write val(c.d) to compare with a field)
   | a.b in c.d
   |        ^`},
	{name: "list name is an identifier", in: "a.b in foo-bar", err: `1:11: unexpected token after 'foo', expecting 'or', 'and'
   | a.b in foo-bar
   |           ^`},
	{name: "list trailing comma", in: "a.b in (x,)", err: `1:11: expected a list item, found ')'
   | a.b in (x,)
   |           ^`},
	{name: "list leading comma", in: "a.b in (,x)", err: `1:9: expected a list item, found ','
   | a.b in (,x)
   |         ^`},
	{name: "list missing comma", in: "a.b in (x y)", err: `1:11: expected ',' or ')' after list item 'x', found 'y'
   | a.b in (x y)
   |           ^`},
	{name: "list unclosed", in: "a.b in (x, y", err: `1:13: expected ',' or ')' after list item 'y', found end of condition
   | a.b in (x, y
   |             ^`},
	{name: "list equals", in: "a.b in (x=y)", err: `1:10: expected ',' or ')' after list item 'x', found '='
   | a.b in (x=y)
   |          ^`},
	{name: "modifier needs paren list", in: "a.b startswith oneof x", err: `1:22: unexpected token after 'oneof', expecting 'or', 'and'
   | a.b startswith oneof x
   |                      ^`},
	{name: "empty field arg", in: "jevt.value[] exists", err: `1:12: expected a field argument (a quoted or bare string) after '[', found ']'
   | jevt.value[] exists
   |            ^`},
	{name: "blank in field arg", in: "jevt.value[ /a] exists", err: `1:12: expected a field argument (a quoted or bare string) after '[', found ' '
   | jevt.value[ /a] exists
   |            ^`},
	{name: "unclosed field arg", in: "jevt.value[/a exists", err: `1:14: expected ']' after the argument of 'jevt.value', found ' '
   | jevt.value[/a exists
   |              ^`},
	{name: "field arg after blank", in: "jevt.value [/a] exists", err: `1:12: expected a comparison operator after 'jevt.value', found '['
   | jevt.value [/a] exists
   |            ^`},
	{name: "val needs field", in: "a.b = val(c)", err: `1:11: expected a field inside val(), found 'c'
   | a.b = val(c)
   |           ^`},
	{name: "val unclosed", in: "a.b = val(c.d", err: `1:14: expected ')' to close val(, found end of condition
   | a.b = val(c.d
   |              ^`},
	{name: "val on the left", in: "val(a.b) = c", err: `1:4: unexpected token after 'val', expecting 'or', 'and'
   | val(a.b) = c
   |    ^`},
	{name: "transformer with blank before paren", in: "tolower (a.b) = c", err: `1:9: unexpected token after 'tolower', expecting 'or', 'and'
   | tolower (a.b) = c
   |         ^`},
	{name: "transformer without args", in: "tolower() = c", err: `1:9: expected a field, a transformer, a quoted string, a number or a list as argument of 'tolower', found ')'
   | tolower() = c
   |         ^`},
	{name: "transformer bare arg", in: "tolower(abc) = c", err: `1:9: expected a field, a transformer, a quoted string, a number or a list as argument of 'tolower', found 'abc'
   | tolower(abc) = c
   |         ^`},
	{name: "transformer unclosed", in: "tolower(a.b = c", err: `1:13: expected ',' or ')' in the arguments of 'tolower', found '='
   | tolower(a.b = c
   |             ^`},
	{name: "transformer list with field", in: "join(\",\", (a.b)) = c", err: `1:12: a list inside transformer arguments may hold only quoted strings and numbers, found 'a.b'
   | join(",", (a.b)) = c
   |            ^`},
	{name: "transformer arg after close", in: "tolower(a.b)[x] = c", err: `1:13: expected a comparison operator after ')', found '['
   | tolower(a.b)[x] = c
   |             ^`},
	{name: "number on the left", in: "1 = 1", err: `1:1: expected a field, a macro name, 'not' or '(', found '1'
   | 1 = 1
   | ^`},
	{name: "error on second line", in: "ka.verb = create and\n  ka.uri = /a=b", err: `2:14: unexpected token after '/a', expecting 'or', 'and'
   |   ka.uri = /a=b
   |              ^`},
	{name: "caret after tab and wide runes", in: "a.b = \"✓\"\tc", err: "1:11: unexpected token after '\"✓\"', expecting 'or', 'and'\n   | a.b = \"✓\"\tc\n   | " + "         \t^"},
}

func TestParse(t *testing.T) {
	for _, tc := range parseTests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse(tc.in)
			checkParse(t, tc.in, n, err)
			if tc.err != "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %s, want error\n%s", tc.in, sexpr(n), tc.err)
				}
				if got := err.(*Error).Render(tc.in); got != tc.err {
					t.Fatalf("Parse(%q) error:\n%s\nwant:\n%s", tc.in, got, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %s", tc.in, err.(*Error).Render(tc.in))
			}
			n, _ = Parse(tc.in) // checkParse cleared the positions
			if tc.tree != "" {
				if got := sexpr(n); got != tc.tree {
					t.Errorf("tree of %q:\n got %s\nwant %s", tc.in, got, tc.tree)
				}
			}
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if got := n.String(); got != want {
				t.Errorf("String of %q:\n got %s\nwant %s", tc.in, got, want)
			}
		})
	}
}

// TestParseDepth checks the nesting limit: 1000 levels parse, 1001 do not,
// and the error points at the opening parenthesis that is one too many.
func TestParseDepth(t *testing.T) {
	ok := strings.Repeat("(", MaxDepth) + "a" + strings.Repeat(")", MaxDepth)
	n, err := Parse(ok)
	checkParse(t, ok, n, err)
	if err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
	deep := "(" + ok + ")"
	_, err = Parse(deep)
	if err == nil || err.(*Error).Pos != MaxDepth || err.Error() != "exceeded max depth limit of 1000" {
		t.Fatalf("depth %d: got %v", MaxDepth+1, err)
	}
	calls := strings.Repeat("tolower(", MaxDepth+1) + "a.b" + strings.Repeat(")", MaxDepth+1) + " = x"
	if _, err := Parse(calls); err == nil {
		t.Fatalf("%d nested transformers parsed", MaxDepth+1)
	}
	nots := strings.Repeat("not (", MaxDepth) + "a" + strings.Repeat(")", MaxDepth)
	n, err = Parse(nots)
	checkParse(t, nots, n, err)
}

// TestParseLongChain makes sure long and/or chains need no recursion.
func TestParseLongChain(t *testing.T) {
	src := "a.b = 1" + strings.Repeat(" and a.b = 1 or x", 5000)
	n, err := Parse(src)
	checkParse(t, src, n, err)
	if err != nil {
		t.Fatal(err)
	}
}

// TestErrorPosition checks Position on a multi-line condition.
func TestErrorPosition(t *testing.T) {
	src := "a.b = c and\r\n  ✓"
	_, err := Parse(src)
	if err == nil {
		t.Fatal("parsed")
	}
	line, col := err.(*Error).Position(src)
	if line != 2 || col != 3 {
		t.Fatalf("Position = %d:%d, want 2:3 (%v)", line, col, err)
	}
	want := "2:3: expected a field, a macro name, 'not' or '(', found '✓'\n   |   ✓\n   |   ^"
	if got := err.(*Error).Render(src); got != want {
		t.Fatalf("Render:\n%s\nwant\n%s", got, want)
	}
}

// TestNodeString covers printing of trees that Parse does not build, such
// as values that cannot be bare and lists that lost their parentheses.
func TestNodeString(t *testing.T) {
	tests := []struct {
		n    Node
		want string
	}{
		{&FieldRef{Name: "jevt.value", Arg: "/a b", HasArg: true}, `jevt.value["/a b"]`},
		{&FieldRef{Name: "jevt.value", Arg: "", HasArg: true}, `jevt.value[""]`},
		{&FieldRef{Name: "ka.x", Val: true}, "val(ka.x)"},
		{&Value{Text: `a\`}, `a\`},
		{&Value{Text: `a\`, Quoted: true}, `"a\x5c"`},
		{&Value{Text: "a b"}, `"a b"`},
		{&Value{Text: ""}, `""`},
		{&Value{Text: "x", Quoted: true}, `"x"`},
		{&List{Items: []*Value{{Text: "a"}, {Text: "b"}}}, "(a, b)"},
		{&List{Items: []*Value{{Text: "a-b"}}}, "(a-b)"},
		{&List{Paren: true}, "()"},
		{&Transform{Name: "join", Args: []Node{&Value{Text: ",", Quoted: true}, &FieldRef{Name: "ka.g"}}}, `join(",", ka.g)`},
		{&MacroRef{Name: "m"}, "m"},
		{&Not{X: &Not{X: &MacroRef{Name: "m"}}}, "not (not m)"},
		{&Or{Terms: []Node{&And{Terms: []Node{&MacroRef{Name: "a"}, &MacroRef{Name: "b"}}}, &Or{Terms: []Node{&MacroRef{Name: "c"}}}}}, "a and b or (c)"},
	}
	for _, tc := range tests {
		if got := tc.n.String(); got != tc.want {
			t.Errorf("%s.String() = %s, want %s", sexpr(tc.n), got, tc.want)
		}
	}
}

// TestLongTokenInMessage checks that a long or multi-line last token is
// shortened and escaped in messages, so a rendered error keeps its shape.
func TestLongTokenInMessage(t *testing.T) {
	src := `a.b = "` + strings.Repeat("x", 50) + "\n\" c"
	_, err := Parse(src)
	want := `unexpected token after '"` + strings.Repeat("x", 39) + `...', expecting 'or', 'and'`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	src = "a.b = \"x\ny\" c"
	_, err = Parse(src)
	want = `unexpected token after '"x\ny"', expecting 'or', 'and'`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}
