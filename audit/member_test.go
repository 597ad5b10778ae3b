package audit

import (
	"testing"

	"github.com/buger/jsonparser"
	"github.com/valyala/fastjson"
)

func TestMemberOf(t *testing.T) {
	obj := `{ "a" : 1 , "b":"x\"y", "c":{"a":[1,{"d":"}"}]}, "d":[], "\u0065":true, "e":false, "f" :null ,"a":2}`
	tests := []struct{ key, raw string }{
		{"a", "1"}, {"b", `x\"y`}, {"c", `{"a":[1,{"d":"}"}]}`}, {"d", "[]"}, {"e", "true"}, {"f", "null"}, {"g", ""},
	}
	for _, tt := range tests {
		if got := memberOf([]byte(obj), tt.key); string(got.Raw()) != tt.raw {
			t.Errorf("memberOf(%q) = %q, want %q", tt.key, got.Raw(), tt.raw)
		}
	}
}

// FuzzMemberMatchesJSONParser: on any valid JSON object, memberOf finds what
// jsonparser.Get finds, for the object's own keys and others.
func FuzzMemberMatchesJSONParser(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":"d"},"a":2}`), "a")
	f.Add([]byte(`{"k\u0041":1,"kA":2}`), "kA")
	f.Add([]byte(`{"\ud800":1,"b":2}`), "b")
	f.Add([]byte(`{ "x" : [ "]" , { "}" : 1 } ] , "y" : -1.5e3 }`), "y")
	f.Fuzz(func(t *testing.T, obj []byte, key string) {
		if len(obj) == 0 || obj[0] != '{' || fastjson.ValidateBytes(obj) != nil {
			return
		}
		var sc scanner // the events' validator, stricter than fastjson
		if sc.scan(obj, true) != scanDone || sc.i != len(obj) {
			return
		}
		check := func(k string) {
			got := memberOf(obj, k)
			b, typ, _, err := jsonparser.Get(obj, k)
			want := Value{}
			if err == nil {
				want = Value{b: b, k: kindOf(typ)}
			}
			if got.k != want.k || string(got.b) != string(want.b) {
				t.Fatalf("%s: member(%q) = %v %q, jsonparser %v %q", obj, k, got.k, got.b, want.k, want.b)
			}
		}
		check(key)
		_ = jsonparser.ObjectEach(obj, func(k, _ []byte, _ jsonparser.ValueType, _ int) error {
			check(string(k))
			return nil
		})
	})
}
