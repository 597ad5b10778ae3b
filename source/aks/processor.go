package aks

import (
	"context"
	"errors"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/peregrine-sec/peregrine/source"
)

// backoff is 1 s doubling to 1 min.
func backoff(attempt int) time.Duration {
	return min(time.Second<<min(attempt, 6), time.Minute)
}

// runProcessor runs one Processor and hands each partition it claims to a
// consumer. It returns nil when ctx ends, leaving the processor running so
// that it holds the partitions until Close has written their final
// checkpoints; otherwise the processor's error.
func (s *Source) runProcessor(ctx context.Context, p source.Pipeline) error {
	s.ensureContainer(ctx)
	proc, err := azeventhubs.NewProcessor(s.cl.consumer, s.store, &azeventhubs.ProcessorOptions{
		LoadBalancingStrategy:       s.cfg.Strategy,
		UpdateInterval:              s.cfg.UpdateInterval,
		PartitionExpirationDuration: s.cfg.PartitionExpiry,
		StartPositions:              azeventhubs.StartPositions{Default: s.cfg.Start},
		Prefetch:                    int32(s.cfg.BatchSize),
	})
	if err != nil {
		return err
	}
	// The processor runs on a context of its own: cancelling it gives the
	// partitions up, which Close does once their checkpoints are written.
	procCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() { runErr = proc.Run(procCtx); close(done) }()
	s.setProcessor(func() { cancel(); <-done })

	loop, stopLoop := context.WithCancel(ctx)
	defer stopLoop()
	go s.watch(loop, stopLoop, done)
	for pc := proc.NextPartitionClient(loop); pc != nil; pc = proc.NextPartitionClient(loop) {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.consume(ctx, p, pc) }()
	}
	if ctx.Err() != nil {
		return nil
	}
	<-done
	cancel()
	if runErr == nil {
		runErr = errors.New("the processor stopped")
	}
	return runErr
}

// watch ends the hand-out loop when the processor stops (its
// NextPartitionClient would wait for ever), and clears the processor's
// fault once two ownership rounds went through.
func (s *Source) watch(loop context.Context, stopLoop func(), done <-chan struct{}) {
	healthy := time.After(2 * s.cfg.UpdateInterval)
	for {
		select {
		case <-done:
			stopLoop()
			return
		case <-loop.Done():
			return
		case <-healthy:
			s.fault("processor", nil)
		}
	}
}

func (s *Source) setProcessor(stop func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procStop = stop
}

// ensureContainer creates the checkpoint container, which the SDK's
// store needs and upstream users create by hand. Failing is not fatal:
// with a role that may not create containers it must exist already, and
// the processor then says so.
func (s *Source) ensureContainer(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.cl.checkpoint.Create(cctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		s.log.Debug("could not create the checkpoint container", "container", s.cfg.BlobContainer, "err", err)
	}
}
