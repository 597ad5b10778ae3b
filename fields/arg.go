package fields

import (
	"errors"
	"math"
	"strconv"
)

// ParseArg checks the argument written after the field name (text, the part
// between the brackets with any quotes removed; has says whether brackets
// were written at all) and parses it once, when a rule is compiled. The
// error messages follow Falco's wording.
func (f *Field) ParseArg(text string, has bool) (Arg, error) {
	if !has {
		if f.ArgRequired {
			return Arg{}, errors.New(f.Name + " requires an argument but none provided")
		}
		return Arg{}, nil
	}
	switch f.Arg {
	case ArgNone:
		return Arg{}, errors.New(f.Name + " does not allow nor require an argument but one is provided: " + text)
	case ArgIndex:
		i, err := parseIndex(text)
		if err != nil {
			return Arg{}, errors.New(f.Name + " has an invalid index argument " + err.Error() + ": " + text)
		}
		return Arg{Text: text, Index: i, HasIndex: true, Has: true}, nil
	}
	return Arg{Text: text, Has: true}, nil
}

// parseIndex accepts what libsinsp accepts as an index: decimal digits only,
// with no leading zero except "0" itself. An index too large for an int
// still parses when it fits 64 bits, as upstream; no list is that long, so
// it simply never matches.
func parseIndex(s string) (int, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not composed only by digits")
		}
	}
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, errors.New("starting with 0")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errors.New("not representable on 64 bit")
	}
	if n > math.MaxInt {
		return math.MaxInt, nil
	}
	return int(n), nil
}
