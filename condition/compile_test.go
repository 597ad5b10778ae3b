package condition

import (
	"strings"
	"testing"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/fields"
)

// evalEvent is the event the operator table runs against.
const evalEvent = `{"kind":"Event","auditID":"a1","stage":"ResponseComplete","verb":"create",
 "requestURI":"/api/v1/namespaces/default/pods?dryRun=All&x=",
 "user":{"username":"Alice@Example.com","groups":["devs","system:authenticated"]},
 "objectRef":{"resource":"pods","namespace":"default"},
 "responseStatus":{"code":201},
 "requestObject":{"spec":{"hostNetwork":true,
   "containers":[{"name":"a","image":"nginx:1.2","securityContext":{"privileged":true}},{"name":"b","image":"reg:5000/app:1"}],
   "volumes":[{"name":"s","hostPath":{"path":"/var/run/docker.sock"}}]}},
 "stageTimestamp":"2024-01-02T03:04:05.123456789Z"}`

// TestOperators is the specification of every operator on string fields,
// list fields, numbers, transformers and field-to-field comparison.
func TestOperators(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		// = == != on a single string field; a missing field is false for every operator.
		{`ka.verb = create`, true},
		{`ka.verb == create`, true},
		{`ka.verb=create`, true},
		{`ka.verb != create`, false},
		{`ka.verb != delete`, true},
		{`ka.target.name = x`, false},
		{`ka.target.name != x`, false},
		{`not ka.target.name = x`, true},
		// Ordering compares bytes, so "201" < "3" and "201" > "1000".
		{`ka.response.code < 3`, true},
		{`ka.response.code > 1000`, true},
		{`ka.response.code >= 201`, true},
		{`ka.response.code <= 200`, false},
		// Substring, prefix, suffix, case-insensitive substring.
		{`ka.user.name contains Example`, true},
		{`ka.user.name contains example`, false},
		{`ka.user.name icontains EXAMPLE`, true},
		{`ka.user.name contains ""`, true},
		{`ka.uri startswith /api/v1`, true},
		{`ka.uri startswith /apis`, false},
		{`ka.user.name endswith .com`, true},
		// glob: fnmatch, '*' crosses '/'.
		{`ka.uri glob "/api/*/pods*"`, true},
		{`ka.uri glob "/api/v?/namespaces/*"`, true},
		{`ka.uri glob "/api/v[0-9]/*"`, true},
		{`ka.uri glob "/api/v[!0-9]/*"`, false},
		{`ka.user.name iglob "alice@*"`, true},
		{`ka.user.name glob "alice@*"`, false},
		// regex must match the whole value.
		{`ka.verb regex "cr.*"`, true},
		{`ka.verb regex "cr"`, false},
		// in / intersects / pmatch on a single value.
		{`ka.verb in (get, create)`, true},
		{`ka.verb in (get, list)`, false},
		{`ka.verb intersects (create)`, true},
		{`ka.verb in ()`, false},
		{`ka.uri pmatch (/api/v1/namespaces)`, true},
		{`ka.uri pmatch (/api/v1/names)`, false},
		{`ka.uri pmatch (/api/*/namespaces)`, true},
		// Modifiers.
		{`ka.verb startswith oneof (cr, c)`, false},
		{`ka.verb startswith anyof (cr, x)`, true},
		{`ka.verb startswith allof (cr, c)`, true},
		// exists.
		{`ka.verb exists`, true},
		{`ka.target.name exists`, false},
		{`ka.uri.param[x] exists`, true},
		{`ka.uri.param[x] = ""`, true},
		// List fields: in = every element, intersects = some element.
		{`ka.user.groups in (devs, system:authenticated, other)`, true},
		{`ka.user.groups in (devs)`, false},
		{`ka.user.groups intersects (devs)`, true},
		{`ka.req.pod.containers.privileged intersects (true)`, true},
		{`ka.req.pod.containers.image.repository in (nginx, reg:5000/app)`, true},
		{`ka.req.pod.volumes.hostpath intersects (/var/run/docker.sock)`, true},
		// Legacy string operators on list fields: true when any element matches.
		{`ka.user.groups contains system:`, true},
		{`ka.user.groups = devs`, true},
		// and / or / not precedence and short-circuit.
		{`ka.verb = delete or ka.verb = create and not ka.target.name exists`, true},
		{`(ka.verb = delete or ka.verb = create) and ka.target.name exists`, false},
		{`not not ka.verb = create`, true},
		// Transformers.
		{`tolower(ka.user.name) = alice@example.com`, true},
		{`toupper(ka.verb) = CREATE`, true},
		{`basename(ka.uri) = "pods?dryRun=All&x="`, true},
		{`len(ka.verb) = 6`, true},
		{`len(ka.user.groups) = 2`, true},
		{`len(ka.verb) > 3`, true},
		{`join(",", ka.user.groups) = "devs,system:authenticated"`, true},
		{`concat(ka.verb, "-", ka.target.resource) = create-pods`, true},
		{`concat(toupper(ka.verb), tolower("-X-"), len(ka.verb)) = CREATE-x-6`, true},
		{`join("|", toupper(ka.user.groups)) = "DEVS|SYSTEM:AUTHENTICATED"`, true},
		{`concat(ka.verb, ka.target.name) exists`, false},
		// Field-to-field comparison.
		{`ka.target.resource = val(ka.target.resource)`, true},
		{`ka.verb = val(ka.target.resource)`, false},
		{`ka.verb != val(ka.target.name)`, false},
		// Numeric evt fields.
		{`evt.num > 0`, true},
		{`evt.rawtime = 1704164645123456789`, true},
		{`evt.rawtime in (1, 1704164645123456789)`, true},
		{`evt.source = k8s_audit`, true},
		{`evt.is_async = false`, true},
		// json plugin fields.
		{`jevt.value[/objectRef/resource] = pods`, true},
		{`jevt.value[/requestObject/spec/containers/1/name] = b`, true},
		{`jevt.rawtime exists`, true},
		{`jevt.rawtime = 0`, false},
		// json.rawtime is text: equality compares the decimal text exactly.
		{`jevt.rawtime = 1704164645123456789`, true},
		{`jevt.rawtime in (1, 1704164645123456789)`, true},
		{`jevt.rawtime != 0`, true},
		{`jevt.rawtime = 01704164645123456789`, false},
		{`jevt.rawtime != 01704164645123456789`, true},
		{`jevt.rawtime startswith 1704`, true},
		{`jevt.rawtime < 2`, true},
	}
	tbl := fields.Builtin()
	ev := audit.New([]byte(evalEvent), 1704164645123456789)
	ev.Num = 1
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			c := NewCompiler(tbl)
			n, err := Parse(tt.cond)
			if err != nil {
				t.Fatal(err)
			}
			e, err := c.Compile(n)
			if err != nil {
				t.Fatal(err)
			}
			x := c.NewCtx()
			x.Reset(ev)
			if got := e.Eval(x); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCompileErrors: type and operator errors are found when rules load.
func TestCompileErrors(t *testing.T) {
	tests := []struct{ cond, err string }{
		{`ka.nope = x`, "filter_check called with nonexistent field ka.nope"},
		{`ka.verb bcontains 41`, "'bcontains' operator not supported for string filters"},
		{`evt.num contains 1`, "'contains' operator not supported for numeric filters"},
		{`evt.num = abc`, "abc is not a valid number"},
		{`evt.is_async = yes`, "yes is not a valid bool"},
		{`ka.verb regex "("`, "invalid regex pattern"},
		{`ka.uri.param exists`, "requires an argument"},
		{`ka.verb[1] = x`, "does not allow nor require an argument"},
		{`ka.verb pmatch val(ka.uri)`, "cannot take a field on the right-hand side"},
		{`ka.verb = val(evt.num)`, "different types"},
		{`some_macro`, "Undefined macro 'some_macro' used in filter."},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			n, err := Parse(tt.cond)
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewCompiler(fields.Builtin()).Compile(n)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
		})
	}
}

// TestFieldExtractedOnce: rules that share a field share its slot.
func TestFieldExtractedOnce(t *testing.T) {
	c := NewCompiler(fields.Builtin())
	for _, s := range []string{`ka.verb = a`, `ka.verb in (b, c)`, `ka.verb exists and ka.uri = x`} {
		n, _ := Parse(s)
		if _, err := c.Compile(n); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.slots) != 2 {
		t.Fatalf("%d slots, want 2 (ka.verb, ka.uri)", len(c.slots))
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true}, {"*", "a/b", true}, {"a*c", "abbc", true}, {"a*c", "abcd", false},
		{"?", "é", true}, {"[abc]", "b", true}, {"[^abc]", "b", false}, {"[]]", "]", true},
		{"[a-", "[a-", true}, {`\*`, "*", true}, {`\*`, "a", false}, {"*.yaml", ".yaml", true},
		{"a*b*c", "a-b-b-c", true}, {"a*b*c", "a-c-b", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pat, tt.s, false); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}

func BenchmarkEval(b *testing.B) {
	for _, cond := range []string{
		`ka.verb = create`,
		`ka.verb in (get, list, watch, create) and ka.target.resource = pods`,
		`ka.req.pod.containers.privileged intersects (true)`,
		`jevt.value[/stage] in (ResponseComplete)`,
	} {
		b.Run(cond, func(b *testing.B) {
			c := NewCompiler(fields.Builtin())
			n, _ := Parse(cond)
			e, err := c.Compile(n)
			if err != nil {
				b.Fatal(err)
			}
			x := c.NewCtx()
			ev := audit.New([]byte(evalEvent), 1)
			b.ReportAllocs()
			for b.Loop() {
				x.Reset(ev)
				e.Eval(x)
			}
		})
	}
}

func TestContainsFold(t *testing.T) {
	for _, tt := range []struct {
		s, needle string
		want      bool
	}{{"Alice@Example.COM", "example.com", true}, {"abc", "", true}, {"", "a", false}, {"ÉA", "éa", false}, {"xAb", "ab", true}, {"ab", "abc", false}} {
		if got := containsFold(tt.s, tt.needle); got != tt.want {
			t.Errorf("containsFold(%q, %q) = %v", tt.s, tt.needle, got)
		}
	}
}
