package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
)

// childEnv carries a task to a child process; its presence is what makes a
// process a child.
const childEnv = "PEREGRINE_BENCH_CHILD"

// task is one measurement, run in a child process or in this one.
type task struct {
	Kind    string   `json:"kind"` // "replay" or "validators"
	Input   string   `json:"input"`
	Rules   []string `json:"rules,omitempty"` // rules files; none: the embedded defaults
	Workers int      `json:"workers,omitempty"`
	Procs   int      `json:"procs"` // GOMAXPROCS
	Tally   bool     `json:"tally,omitempty"`
}

// result is what a task measured.
type result struct {
	Replay     *Replay     `json:"replay,omitempty"`
	Validators []Validator `json:"validators,omitempty"`
	Census     *census     `json:"census,omitempty"`
	Tally      *tally      `json:"tally,omitempty"`
	PeakRSS    int64       `json:"peak_rss"`
}

// IsChild reports whether this process was started to run one
// measurement.
func IsChild() bool { return os.Getenv(childEnv) != "" }

// Child runs the measurement named in the environment and writes its
// result as JSON to w. The peregrine binary calls it from `peregrine bench`
// when IsChild; tests call it from TestMain.
func Child(w io.Writer) error {
	var t task
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &t); err != nil {
		return fmt.Errorf("bench child: %w", err)
	}
	res, err := t.run()
	if err != nil {
		return err
	}
	res.PeakRSS = peakRSS()
	return json.NewEncoder(w).Encode(res)
}

func (t task) run() (*result, error) {
	switch t.Kind {
	case "replay":
		return measureReplay(t)
	case "validators":
		return measureValidators(t)
	}
	return nil, fmt.Errorf("bench: unknown task %q", t.Kind)
}

// runner runs tasks: in a child process of self when it is set, else in
// this process with GOMAXPROCS set for the task's duration.
type runner struct {
	self []string
}

func (r runner) isolated() bool { return len(r.self) > 0 }

func (r runner) run(t task) (*result, error) {
	if !r.isolated() {
		old := runtime.GOMAXPROCS(t.Procs)
		defer runtime.GOMAXPROCS(old)
		res, err := t.run()
		if res != nil {
			res.PeakRSS = peakRSS()
		}
		return res, err
	}
	spec, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(r.self[0], r.self[1:]...)
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec), "GOMAXPROCS="+strconv.Itoa(t.Procs))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bench child (%s): %v: %s", t.Kind, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var res result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("bench child (%s): bad result: %v", t.Kind, err)
	}
	return &res, nil
}
