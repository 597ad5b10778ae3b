package condition

// tokenKind classifies a token. The condition language is context
// sensitive (the same text is an identifier, a bare string or an operator
// depending on where it stands), so the parser tells the lexer what it
// expects through a mode and the lexer answers with one of these kinds.
type tokenKind uint8

const (
	tEOF      tokenKind = iota
	tIllegal            // nothing the current mode accepts starts here
	tError              // a malformed token (bad escape, ...); text is the message
	tLParen             // (
	tRParen             // )
	tComma              // ,
	tAnd                // and (followed by a blank or '(')
	tOr                 // or (followed by a blank or '(')
	tNot                // not followed by blanks
	tNotParen           // not(
	tIdent              // macro name, or the list name of "in foo"
	tField              // ka.user.name: IDENT ( "." IDENT )+
	tCall               // a transformer name directly followed by "("; text is the name
	tVal                // val(
	tOp                 // a comparison operator; op says which
	tMod                // oneof, anyof or allof, followed by "("; mod says which
	tQuoted             // a quoted string; text is the unescaped content
	tBare               // a bare string (or a bare field argument)
	tNumber             // a decimal or hexadecimal number
)

// token is one lexeme. Positions are byte offsets into the condition.
type token struct {
	kind  tokenKind
	op    Op
	mod   Mod
	pos   Pos    // start of the lexeme (for tError: where the problem is)
	end   Pos    // end of the lexeme proper, used for "after '<last>'" messages
	after int    // where lexing resumes; past trailing blanks of "not" or the "(" of a modifier
	text  string // see the kinds above; otherwise the source text of the lexeme
}

// transformers are the names that form a tCall when directly followed by "(".
var transformers = map[string]bool{
	"tolower": true, "toupper": true, "b64": true, "basename": true,
	"len": true, "join": true, "concat": true, "getopt": true,
}

// wordOps are the operators spelled as words. String operators need a blank
// after them (Falco: "glob ", "contains ", ...); exists and the list
// operators only need to end the word, so "(x exists)" and "x in(a)" work.
var wordOps = map[string]Op{
	"exists": OpExists, "glob": OpGlob, "iglob": OpIGlob,
	"contains": OpContains, "icontains": OpIContains, "bcontains": OpBContains,
	"startswith": OpStartsWith, "bstartswith": OpBStartsWith, "endswith": OpEndsWith,
	"regex": OpRegex, "intersects": OpIntersects, "in": OpIn, "pmatch": OpPmatch,
}

// needsBlank reports whether the word operator o must be followed by a blank.
func needsBlank(o Op) bool { return o != OpExists && !o.IsList() }

// isNumeric reports whether o takes a number on its right.
func isNumeric(o Op) bool { return o == OpLe || o == OpLt || o == OpGe || o == OpGt }

var modWords = map[string]Mod{"oneof": ModOneOf, "anyof": ModAnyOf, "allof": ModAllOf}

// isBlank reports whether c separates tokens. This is Falco's lex_blank set;
// note that it has \b but not \v or \f.
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\b' || c == '\r' || c == '\n'
}

// isSpace is POSIX [[:space:]], which Falco's regexes use: it ends bare
// strings and field arguments, and it is what may follow "not".
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isWordByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_'
}

func isHexDigit(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// endsBare reports whether c ends a bare string: BARESTR = [^()"'[:space:]=,]+.
func endsBare(c byte) bool {
	switch c {
	case '(', ')', '"', '\'', '=', ',':
		return true
	}
	return isSpace(c)
}

// endsBareArg reports whether c ends a bare field argument: [^][ "'[:space:]]+.
func endsBareArg(c byte) bool {
	switch c {
	case '[', ']', '"', '\'':
		return true
	}
	return isSpace(c)
}
