package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"time"

	"github.com/valyala/fastjson"

	"github.com/peregrine-sec/peregrine/gen"
)

// Validator is one pass of a JSON validator (or of reading alone) over the
// input, one line at a time on one core.
type Validator struct {
	Name     string  `json:"name"`
	Lines    int64   `json:"lines"`
	Bytes    int64   `json:"bytes"` // the input, decompressed, newlines included
	Seconds  float64 `json:"seconds"`
	MBPerSec float64 `json:"mb_per_sec"`
	Invalid  int64   `json:"invalid"` // lines the validator rejected
}

// census is the ground truth in the input: attack events by kind, from the
// generator's annotation.
type census struct {
	Attacks map[string]int64 `json:"attacks"`
	Events  int64            `json:"events"`
}

// The passes, in the order they run. The read-only pass first also warms
// the page cache for the others.
var validatorPasses = []struct {
	name  string
	valid func([]byte) bool
}{
	{"read lines only", func([]byte) bool { return true }},
	{"encoding/json.Valid", json.Valid},
	{"fastjson.ValidateBytes", func(b []byte) bool { return fastjson.ValidateBytes(b) == nil }},
}

// readOnlyPass is the name of the pass that only reads.
const readOnlyPass = "read lines only"

func measureValidators(t task) (*result, error) {
	res := &result{}
	for _, p := range validatorPasses {
		v, err := validatePass(t.Input, p.name, p.valid)
		if err != nil {
			return nil, err
		}
		res.Validators = append(res.Validators, v)
	}
	c, err := takeCensus(t.Input)
	if err != nil {
		return nil, err
	}
	res.Census = c
	return res, nil
}

func validatePass(path, name string, valid func([]byte) bool) (Validator, error) {
	v := Validator{Name: name}
	start := time.Now()
	err := eachLine(path, func(line []byte, n int) {
		v.Bytes += int64(n)
		if len(line) == 0 {
			return
		}
		v.Lines++
		if !valid(line) {
			v.Invalid++
		}
	})
	v.Seconds = time.Since(start).Seconds()
	if v.Seconds > 0 {
		v.MBPerSec = float64(v.Bytes) / 1e6 / v.Seconds
	}
	return v, err
}

var attackKey = []byte(`"` + gen.AttackAnnotation + `":"`)

// takeCensus counts the annotated attack events in the input by kind, and
// events by their auditID members.
func takeCensus(path string) (*census, error) {
	c := &census{Attacks: map[string]int64{}}
	auditID := []byte(`"auditID":"`)
	err := eachLine(path, func(line []byte, _ int) {
		c.Events += int64(bytes.Count(line, auditID))
		for {
			i := bytes.Index(line, attackKey)
			if i < 0 {
				return
			}
			line = line[i+len(attackKey):]
			if j := bytes.IndexByte(line, '"'); j >= 0 {
				c.Attacks[string(line[:j])]++
				line = line[j:]
			}
		}
	})
	return c, err
}

// eachLine calls f with every line of the file at path (decompressed when
// it is gzip), without its line ending, and the number of bytes the line
// took in the input. Lines may be of any length.
func eachLine(path string, f func(line []byte, n int)) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	br := bufio.NewReaderSize(file, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		r = bufio.NewReaderSize(zr, 1<<20)
	}
	lr := r.(*bufio.Reader)
	var long []byte
	for {
		chunk, err := lr.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if len(line) > 0 {
			n := len(line)
			f(bytes.TrimRight(line, "\r\n"), n)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
