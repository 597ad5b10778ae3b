package webhook

import (
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/peregrine-sec/peregrine/metrics"
)

// counterValue sums a counter family's samples that carry label value lv.
func counterValue(t *testing.T, m *metrics.Metrics, name, lv string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.Metric {
			if hasLabel(s, lv) {
				sum += s.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func hasLabel(s *dto.Metric, v string) bool {
	for _, l := range s.Label {
		if l.GetValue() == v {
			return true
		}
	}
	return false
}
