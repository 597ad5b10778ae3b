package gke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/peregrine-sec/peregrine/source/gke/logentry"
)

// ClusterMetadata gives a GKE cluster's resource labels (the labels set
// on the cluster, e.g. team or environment), which fetch_cluster_metadata
// adds to the annotations of its events. The daemon uses the GKE API
// (ContainerAPI); tests give a fake.
type ClusterMetadata interface {
	ClusterLabels(ctx context.Context, project, location, cluster string) (map[string]string, error)
}

// ErrDenied is wrapped by ClusterLabels errors that say the credentials
// may not read the cluster (HTTP 401/403): the service account needs
// roles/container.clusterViewer in the cluster's project.
var ErrDenied = errors.New("permission denied")

// ContainerAPI reads clusters with the GKE API's
// projects.locations.clusters.get, asking only for resourceLabels.
type ContainerAPI struct {
	// Client carries the credentials (an authenticated client).
	Client *http.Client
	// Endpoint is the API's base URL (default https://container.googleapis.com).
	Endpoint string
}

// ClusterLabels implements ClusterMetadata.
func (c *ContainerAPI) ClusterLabels(ctx context.Context, project, location, cluster string) (map[string]string, error) {
	base := c.Endpoint
	if base == "" {
		base = "https://container.googleapis.com"
	}
	u := fmt.Sprintf("%s/v1/projects/%s/locations/%s/clusters/%s?fields=resourceLabels", base,
		url.PathEscape(project), url.PathEscape(location), url.PathEscape(cluster))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("GKE API: %s: %w", resp.Status, ErrDenied)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("GKE API: %s", resp.Status)
	}
	var cl struct {
		ResourceLabels map[string]string `json:"resourceLabels"`
	}
	if err := json.Unmarshal(body, &cl); err != nil {
		return nil, fmt.Errorf("GKE API: %w", err)
	}
	return cl.ResourceLabels, nil
}

// metadataTimeout bounds one GKE API call; a message waits for it.
const metadataTimeout = 10 * time.Second

// metadataCache keeps each cluster's labels for cache_expiration, failures
// included: a cluster the credentials may not read is asked again only
// after that, not once per message. Concurrent misses for one cluster
// make one call.
type metadataCache struct {
	src     ClusterMetadata
	ttl     time.Duration
	now     func() time.Time
	log     *slog.Logger
	m       *sourceMetrics
	mu      sync.Mutex
	entries map[string]*metadataEntry
}

type metadataEntry struct {
	ready   chan struct{} // closed once labels and expires are set
	labels  map[string]string
	expires time.Time
}

func newMetadataCache(src ClusterMetadata, ttl time.Duration, log *slog.Logger, m *sourceMetrics) *metadataCache {
	return &metadataCache{src: src, ttl: ttl, now: time.Now, log: log, m: m, entries: map[string]*metadataEntry{}}
}

// labels returns the labels of the entry's cluster (nil when unknown).
func (c *metadataCache) labels(r logentry.Resource) map[string]string {
	p, l, n := r.Labels["project_id"], r.Labels["location"], r.Labels["cluster_name"]
	if p == "" || l == "" || n == "" {
		return nil
	}
	key := "projects/" + p + "/locations/" + l + "/clusters/" + n
	c.mu.Lock()
	e := c.entries[key]
	if e != nil && !c.expired(e) {
		c.mu.Unlock()
		<-e.ready
		return e.labels
	}
	e = &metadataEntry{ready: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()
	e.labels = c.fetch(key, p, l, n)
	e.expires = c.now().Add(c.ttl)
	close(e.ready)
	return e.labels
}

// expired reports whether a finished entry is past its time; an entry
// being fetched is not.
func (c *metadataCache) expired(e *metadataEntry) bool {
	select {
	case <-e.ready:
		return !c.now().Before(e.expires)
	default:
		return false
	}
}

func (c *metadataCache) fetch(key, project, location, cluster string) map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), metadataTimeout)
	defer cancel()
	labels, err := c.src.ClusterLabels(ctx, project, location, cluster)
	switch {
	case errors.Is(err, ErrDenied):
		c.m.metadata.WithLabelValues("denied").Inc()
		c.log.Warn("cluster metadata: the credentials may not read the cluster (grant roles/container.clusterViewer); events go on without its labels",
			"cluster", key, "retry_after", c.ttl, "err", err)
	case err != nil:
		c.m.metadata.WithLabelValues("error").Inc()
		c.log.Warn("cluster metadata unavailable; events go on without its labels", "cluster", key, "retry_after", c.ttl, "err", err)
	default:
		c.m.metadata.WithLabelValues("ok").Inc()
	}
	return labels
}
