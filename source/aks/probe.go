package aks

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// probeLoop samples each owned partition's last enqueued sequence number
// (the lag metric) every health_interval. It is also the connection's
// health check: a dead connection fails here even while no receive is
// running, instead of the source hanging silently.
//
// The probe has a client and a connection of its own. The SDK (v2.0.2)
// can keep a management link of a dropped connection cached and fail
// every later request on it with EOF, while receiving has recovered; a
// probe client that keeps failing is therefore rebuilt, and the data path
// never depends on it.
func (s *Source) probeLoop(ctx context.Context) {
	defer s.loops.Done()
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	var pc *azeventhubs.ConsumerClient
	failures := 0
	defer func() { closeClient(pc) }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if pc == nil {
			var err error
			if pc, err = s.cl.newProbe(); err != nil {
				s.fault("probe", err)
				continue
			}
		}
		err := s.probe(ctx, pc)
		s.fault("probe", err)
		failures++
		if err == nil {
			failures = 0
		}
		if failures >= 2 {
			closeClient(pc)
			pc, failures = nil, 0
		}
	}
}

func closeClient(c *azeventhubs.ConsumerClient) {
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Close(ctx)
}

// probe reads the owned partitions' properties (or the hub's, when it
// owns none).
func (s *Source) probe(ctx context.Context, pc *azeventhubs.ConsumerClient) error {
	pctx, cancel := context.WithTimeout(ctx, max(s.cfg.PollInterval, 10*time.Second))
	defer cancel()
	s.mu.Lock()
	var owned []*session
	for ss := range s.sessions {
		if _, ok := ss.status(); ok {
			owned = append(owned, ss)
		}
	}
	s.mu.Unlock()
	if len(owned) == 0 {
		_, err := pc.GetEventHubProperties(pctx, nil)
		return err
	}
	for _, ss := range owned {
		props, err := pc.GetPartitionProperties(pctx, ss.pid, nil)
		if err != nil {
			return err
		}
		ss.mu.Lock()
		ss.enqueued = props.LastEnqueuedSequenceNumber
		ss.mu.Unlock()
	}
	return nil
}
