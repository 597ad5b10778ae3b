package webhook

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source/spool"
)

// Options configure a Handler.
type Options struct {
	// Name is the source's name (metrics label).
	Name string
	// Path is the endpoint (open_params' path, e.g. /k8s-audit). Requests
	// under Path + "/" name their cluster by the rest of the path.
	Path string
	// MaxEventSize and MaxBatchSize are maxEventSize and
	// webhookMaxBatchSize (0: 64 MiB and 256 MiB).
	MaxEventSize int
	MaxBatchSize int
	// Cluster is init_config.cluster_name.
	Cluster string
	// Tokens maps accepted bearer tokens to the cluster they name ("" for
	// none). When it is not empty, a request without one of them gets 401.
	Tokens map[string]string
	// RequireClientCert answers 401 to requests without a verified client
	// certificate (the server must request one: ClientCAs set).
	RequireClientCert bool
	// Spool, when set, makes bodies durable before the 2xx.
	Spool *spool.Spool
	// RetryAfter is the Retry-After of a 429, in seconds (default 1).
	RetryAfter int
	// MaxInFlight bounds the POSTs being read, spooled or evaluated at
	// once (init_config webhookMaxInFlight, default DefaultMaxInFlight);
	// beyond it the answer is 429 with Retry-After. Each holds its body in
	// memory, so without a bound a flood of POSTs exhausts memory.
	MaxInFlight int
	// FirehosePath, when set, serves Amazon Data Firehose's HTTP endpoint
	// deliveries of CloudWatch Logs subscription messages there too
	// (init_config firehose_path; see firehose.go).
	FirehosePath string
	// FirehoseAccessKey, when set, must be every Firehose request's
	// X-Amz-Firehose-Access-Key (init_config firehose_access_key), else
	// 401. Bearer tokens and client certificates do not apply there:
	// Firehose sends neither.
	FirehoseAccessKey string

	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// authenticate checks the request's credentials. It returns the cluster
// the token names and whether the request may go on.
func (o *Options) authenticate(r *http.Request) (string, bool) {
	if o.RequireClientCert && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		return "", false
	}
	if len(o.Tokens) == 0 {
		return "", true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return "", false
	}
	// Compare against every token in constant time, so the answer's
	// timing does not tell how much of a guess was right.
	cluster, found := "", false
	for t, c := range o.Tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			cluster, found = c, true
		}
	}
	return cluster, found
}

// pathCluster is the cluster a request's path names: the one segment
// after Path (/k8s-audit/prod, /k8s-audit/prod/), "" for Path itself or a
// path outside it (the handler mounted elsewhere). ok is false for a
// deeper path (/k8s-audit/a/b): the suffix names a cluster in one
// segment, and "a/b" would file events under a name nobody configured.
// The events' cluster is the token's, else this one, else Cluster.
func (o *Options) pathCluster(path string) (cluster string, ok bool) {
	rest, under := strings.CutPrefix(path, strings.TrimSuffix(o.Path, "/")+"/")
	if !under {
		return "", true
	}
	rest = strings.TrimSuffix(rest, "/")
	return rest, !strings.Contains(rest, "/")
}
