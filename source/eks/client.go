package eks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
)

// API is the one CloudWatch Logs call the source makes; the SDK's client
// implements it.
type API = cloudwatchlogs.FilterLogEventsAPIClient

// NewClient builds a CloudWatch Logs client from the AWS SDK's default
// configuration chain: region and profile from init_config when set, else
// the environment (AWS_REGION, AWS_PROFILE, ...) and shared config files;
// credentials from the profile, the environment, web identity (IRSA),
// the container endpoint (EKS pod identity) or the instance role.
//
// The SDK does not retry: the source does, without a retry budget, and
// counts the throttles it sees (the SDK's retryer would hide them, then
// give up after three attempts).
func NewClient(ctx context.Context, c Config) (*cloudwatchlogs.Client, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if c.Region != "" {
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	// Naming a profile makes the SDK fail when there is no such profile
	// in the shared files. "default" (seed 001's example) is what it reads
	// anyway, so it is not named, and an IRSA pod without ~/.aws works
	// with the documented config unchanged.
	if p := c.Profile; p != "" && (p != "default" || os.Getenv("AWS_PROFILE") != "") {
		opts = append(opts, awsconfig.WithSharedConfigProfile(p))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("no AWS region: set init_config.region or AWS_REGION")
	}
	return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	}), nil
}

// Error kinds, for metrics and the retry policy.
const (
	kindThrottle  = "throttle"  // ThrottlingException, LimitExceededException, ...
	kindTransient = "transient" // network errors, 5xx, timeouts
	kindOther     = "other"     // refused: access denied, no such log group, bad token
)

// classify uses the SDK's own tables of throttling and retryable errors.
func classify(err error) string {
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		return kindThrottle
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
		return kindTransient
	}
	return kindOther
}

// errorCode is the API error code, or the error's text.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return err.Error()
}

// backoff is capped exponential backoff with jitter ("equal jitter": half
// fixed, half random), so several sources throttled together spread out.
type backoff struct {
	base, max time.Duration
	n         int
}

func (b *backoff) next() time.Duration {
	d := b.max
	if b.n < 30 && b.base<<b.n < b.max {
		d = b.base << b.n
	}
	b.n++
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.n = 0 }

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// fetcher makes FilterLogEvents calls, retrying failures with backoff.
type fetcher struct {
	api     API
	b       backoff
	m       *sourceMetrics
	log     *slog.Logger
	name    string
	attempt int // failures in a row, for logs
}

// historyMaxFailures is how many throttles or transient failures in a row
// a history read sits out before it gives up: a command should end, and
// one that fails says why.
const historyMaxFailures = 10

// fetch calls FilterLogEvents until it succeeds. Following (history
// false), it never gives up: only ctx ends it. A refused paginated request
// (an expired or rejected nextToken) is not retried as it is: restart
// tells the caller to read its range again from the start, which the ids
// make safe. Reading history, a refusal is returned at once and other
// failures after historyMaxFailures in a row.
func (f *fetcher) fetch(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, history bool) (out *cloudwatchlogs.FilterLogEventsOutput, restart bool, err error) {
	for {
		f.m.calls.Inc()
		out, err = f.api.FilterLogEvents(ctx, in)
		if err == nil {
			f.b.reset()
			f.attempt = 0
			return out, false, nil
		}
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		kind := classify(err)
		f.count(kind)
		f.attempt++
		if history && (kind == kindOther || f.attempt >= historyMaxFailures) {
			return nil, false, fmt.Errorf("FilterLogEvents on %s: %w", aws.ToString(in.LogGroupName), err)
		}
		d := f.b.next()
		f.report(kind, err, d)
		if !sleep(ctx, d) {
			return nil, false, ctx.Err()
		}
		if kind == kindOther && in.NextToken != nil {
			return nil, true, nil
		}
	}
}

func (f *fetcher) count(kind string) {
	if kind == kindThrottle {
		f.m.throttles.Inc()
		return
	}
	f.m.errors.WithLabelValues(kind).Inc()
}

// report logs a failure: throttles quietly (they are expected under load,
// and counted), errors loudly. Request ids are in the SDK's error text;
// credentials never are.
func (f *fetcher) report(kind string, err error, retryIn time.Duration) {
	args := []any{"source", f.name, "code", errorCode(err), "attempt", f.attempt, "retry_in", retryIn.Round(time.Millisecond)}
	switch kind {
	case kindThrottle:
		f.log.Debug("CloudWatch Logs throttled the request; backing off", args...)
	case kindTransient:
		f.log.Warn("CloudWatch Logs request failed; retrying", append(args, "err", err)...)
	default:
		f.log.Error("CloudWatch Logs refused the request; retrying", append(args, "err", err)...)
	}
}
