package gke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source/gke/internal/gketest"
	"github.com/peregrine-sec/peregrine/source/gke/logentry"
)

// fakeMetadata answers ClusterLabels from a table and counts calls.
type fakeMetadata struct {
	calls  atomic.Int32
	labels map[string]map[string]string // by cluster name
	err    error
	delay  time.Duration
}

func (f *fakeMetadata) ClusterLabels(_ context.Context, project, location, cluster string) (map[string]string, error) {
	f.calls.Add(1)
	time.Sleep(f.delay)
	if f.err != nil {
		return nil, f.err
	}
	return f.labels[project+"/"+location+"/"+cluster], nil
}

func testCache(md ClusterMetadata) (*metadataCache, *time.Time) {
	m := newSourceMetrics(metrics.New(), "k8saudit-gke")
	c := newMetadataCache(md, 10*time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)), m)
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	return c, &now
}

var prod = logentry.Resource{Type: "k8s_cluster", Labels: map[string]string{"project_id": "my-proj", "location": "europe-west1", "cluster_name": "prod-1"}}

// TestMetadataLabels: fetch_cluster_metadata adds the cluster's labels
// without overwriting Google's resource labels or the entry's own.
func TestMetadataLabels(t *testing.T) {
	md := &fakeMetadata{labels: map[string]map[string]string{"my-proj/europe-west1/prod-1": {
		"team": "payments", "cluster_name": "spoofed", "authorization.k8s.io/decision": "spoofed"}}}
	c, _ := testCache(md)
	conv := logentry.Converter{ExtraLabels: c.labels}
	out, _, err := conv.Convert(gketest.Entry("io.k8s.core.v1.pods.get", "core/v1/namespaces/default/pods/x"))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct{ Annotations map[string]string }
	json.Unmarshal(out, &ev)
	want := map[string]string{"team": "payments", "cluster_name": "prod-1", "authorization.k8s.io/decision": "allow"}
	for k, v := range want {
		if ev.Annotations[k] != v {
			t.Errorf("annotations[%s] = %q, want %q", k, ev.Annotations[k], v)
		}
	}
}

// TestMetadataCache: one call per cluster per cache_expiration, failures
// included, however many messages ask at once.
func TestMetadataCache(t *testing.T) {
	tests := []struct {
		name   string
		md     *fakeMetadata
		result string
	}{
		{"ok", &fakeMetadata{labels: map[string]map[string]string{"my-proj/europe-west1/prod-1": {"team": "a"}}}, "ok"},
		{"denied", &fakeMetadata{err: fmt.Errorf("GKE API: 403 Forbidden: %w", ErrDenied)}, "denied"},
		{"error", &fakeMetadata{err: fmt.Errorf("GKE API: 503")}, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.md.delay = 20 * time.Millisecond
			c, now := testCache(tt.md)
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() { c.labels(prod) })
			}
			wg.Wait()
			*now = now.Add(9 * time.Minute)
			c.labels(prod)
			if n := tt.md.calls.Load(); n != 1 {
				t.Errorf("%d calls before expiry, want 1", n)
			}
			*now = now.Add(2 * time.Minute)
			c.labels(prod)
			if n := tt.md.calls.Load(); n != 2 {
				t.Errorf("%d calls after expiry, want 2", n)
			}
			if got := testutil.ToFloat64(c.m.metadata.WithLabelValues(tt.result)); got != 2 {
				t.Errorf("metadata{result=%s} = %v, want 2", tt.result, got)
			}
			if c.labels(logentry.Resource{Labels: map[string]string{"cluster_name": "x"}}) != nil || tt.md.calls.Load() != 2 {
				t.Error("a resource without project and location was looked up")
			}
		})
	}
}

// TestContainerAPI: the GKE API client asks for one cluster's
// resourceLabels and tells a refusal from other failures.
func TestContainerAPI(t *testing.T) {
	var path, query string
	code := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, query = r.URL.EscapedPath(), r.URL.RawQuery
		w.WriteHeader(code)
		io.WriteString(w, `{"resourceLabels":{"team":"payments"}}`)
	}))
	defer srv.Close()
	api := &ContainerAPI{Client: srv.Client(), Endpoint: srv.URL}
	got, err := api.ClusterLabels(context.Background(), "my-proj", "europe-west1", "prod 1")
	if err != nil || got["team"] != "payments" {
		t.Fatalf("%v %v", got, err)
	}
	if path != "/v1/projects/my-proj/locations/europe-west1/clusters/prod%201" || query != "fields=resourceLabels" {
		t.Errorf("asked %s?%s", path, query)
	}
	for c, denied := range map[int]bool{403: true, 401: true, 404: false, 500: false} {
		code = c
		_, err := api.ClusterLabels(context.Background(), "p", "l", "c")
		if err == nil || errors.Is(err, ErrDenied) != denied {
			t.Errorf("HTTP %d: %v", c, err)
		}
	}
}
