package bench

import (
	"os/exec"
	"slices"
	"time"
)

// Startup is the time from nothing to an engine ready with the default
// rules.
type Startup struct {
	Rules int `json:"rules"` // enabled default rules
	// In process: reading the embedded rules, loading and compiling them.
	// The first run pays one-time initialisation; Best is the fastest run.
	InProcessFirstMs  float64 `json:"in_process_first_ms"`
	InProcessBestMs   float64 `json:"in_process_best_ms"`
	InProcessMedianMs float64 `json:"in_process_median_ms"`
	// A fresh `peregrine validate` process with the default rules, exec to
	// exit; Note says why when it was not measured.
	ProcessMeasured bool    `json:"process_measured"`
	ProcessBestMs   float64 `json:"process_best_ms"`
	ProcessMedianMs float64 `json:"process_median_ms"`
	Runs            int     `json:"runs"`
	Note            string  `json:"note,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// measureStartup times loading the default rules in this process runs
// times, then, when validate is set, a `peregrine validate` process as
// many times.
func measureStartup(runs int, validate []string) (Startup, error) {
	s := Startup{Runs: runs}
	var times []float64
	for range runs {
		start := time.Now()
		_, n, err := loadEngine(nil)
		if err != nil {
			return s, err
		}
		times = append(times, ms(time.Since(start)))
		s.Rules = n
	}
	s.InProcessFirstMs = times[0]
	s.InProcessBestMs, s.InProcessMedianMs = bestMedian(times)
	if len(validate) == 0 {
		s.Note = "process start-up not measured (no peregrine binary)"
		return s, nil
	}
	times = times[:0]
	for range runs {
		cmd := exec.Command(validate[0], validate[1:]...)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			s.Note = "process start-up failed: " + err.Error() + ": " + string(out)
			return s, nil
		}
		times = append(times, ms(time.Since(start)))
	}
	s.ProcessMeasured = true
	s.ProcessBestMs, s.ProcessMedianMs = bestMedian(times)
	return s, nil
}

func bestMedian(xs []float64) (best, median float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[0], s[len(s)/2]
}
