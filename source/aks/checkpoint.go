package aks

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/peregrine-sec/peregrine/source"
)

// Checkpoints are written by the SDK's BlobStore, in the layout every
// Event Hubs SDK shares (<namespace>/<hub>/<group>/checkpoint/<partition>,
// metadata sequencenumber and offset), so a user can move between
// Peregrine, upstream's plugin and other consumers of the same group.
//
// Beside each checkpoint the owner keeps a marker blob
// (<namespace>/<hub>/<group>/peregrine-received/<partition>) holding the
// highest sequence number it had received when it wrote the checkpoint.
// The next owner counts what it receives at or below the marker as
// repeats; the SDK's own blobs are never touched beyond its API.
const markerDir = "peregrine-received"

func (s *Source) blobName(dir, pid string) string {
	return s.cl.namespace + "/" + s.cl.hub + "/" + s.cfg.ConsumerGroup + "/" + dir + "/" + pid
}

// writeLoop writes delivered positions every checkpoint_interval and
// forgets sessions that have nothing left to write.
func (s *Source) writeLoop(ctx context.Context) {
	defer s.loops.Done()
	source.Every(ctx, s.cfg.CheckpointInterval, func() {
		if err := s.flushAll(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("writing checkpoints failed; retrying", "err", err)
		}
	})
}

// flushAll writes the checkpoint of every session with a newly delivered
// position.
func (s *Source) flushAll(ctx context.Context) error {
	s.mu.Lock()
	list := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	var errs []error
	for _, ss := range list {
		if err := s.flush(ctx, ss); err != nil {
			errs = append(errs, err)
		}
		s.retire(ss)
	}
	err := errors.Join(errs...)
	s.fault("checkpoint", err)
	return err
}

// flush writes the session's committed position if it is new, and the
// received marker if it moved.
func (s *Source) flush(ctx context.Context, ss *session) error {
	ss.mu.Lock()
	pos, dirty, lost := ss.committed, ss.dirty, ss.lost
	ss.mu.Unlock()
	if lost {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if dirty {
		if err := s.writeCheckpoint(cctx, ss, pos); err != nil {
			return err
		}
	} else {
		ss.mu.Lock()
		ss.checkpointAt = time.Now() // nothing delivered since: it is current
		ss.mu.Unlock()
	}
	if seen := ss.mark.seen.Load(); seen > ss.mark.marked.Load() {
		if err := s.writeMarker(cctx, ss.pid, seen); err != nil {
			s.log.Debug("writing the received marker failed", "partition", ss.pid, "err", err)
		} else {
			ss.mark.marked.Store(seen)
		}
	}
	return nil
}

// writeCheckpoint stores pos through the SDK's BlobStore unless this
// process already wrote a newer one for the partition.
func (s *Source) writeCheckpoint(ctx context.Context, ss *session, pos position) error {
	if pos.seq > ss.mark.written.Load() {
		seq, off := pos.seq, pos.offset
		err := s.store.SetCheckpoint(ctx, azeventhubs.Checkpoint{
			ConsumerGroup: s.cfg.ConsumerGroup, EventHubName: s.cl.hub, FullyQualifiedNamespace: s.cl.namespace,
			PartitionID: ss.pid, SequenceNumber: &seq, Offset: &off,
		}, nil)
		if err != nil {
			return err
		}
		ss.mark.written.Store(seq)
	}
	ss.mu.Lock()
	ss.checkpointAt = time.Now()
	if ss.committed == pos {
		ss.dirty = false
	}
	ss.mu.Unlock()
	return nil
}

// retire forgets a session whose consumer ended and whose batches are all
// delivered and written (or that was lost, so that writes are over).
func (s *Source) retire(ss *session) {
	ss.mu.Lock()
	done := ss.ended && (ss.lost || !ss.dirty) && ss.tr.Pending() == 0
	ss.mu.Unlock()
	if done {
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
	}
}

func (s *Source) writeMarker(ctx context.Context, pid string, seen int64) error {
	bc := s.cl.checkpoint.NewBlockBlobClient(s.blobName(markerDir, pid))
	v := strconv.FormatInt(seen, 10)
	md := map[string]*string{"sequencenumber": &v}
	_, err := bc.SetMetadata(ctx, md, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		_, err = bc.Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{Metadata: md})
	}
	return err
}

// readMarks reads, for a partition just claimed, the checkpoint it starts
// from (for the lag) and the previous owner's received marker (for
// counting repeats). Both are best effort.
func (s *Source) readMarks(ctx context.Context, ss *session) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if v, ok := s.blobSeq(cctx, s.blobName("checkpoint", ss.pid)); ok {
		ss.start = v
	}
	if v, ok := s.blobSeq(cctx, s.blobName(markerDir, ss.pid)); ok && v > ss.mark.seen.Load() {
		ss.mark.seen.Store(v)
	}
}

// blobSeq reads a blob's sequencenumber metadata.
func (s *Source) blobSeq(ctx context.Context, name string) (int64, bool) {
	props, err := s.cl.checkpoint.NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		return 0, false
	}
	for k, v := range props.Metadata { // keys come back in HTTP header case
		if strings.EqualFold(k, "sequencenumber") && v != nil {
			n, err := strconv.ParseInt(*v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
