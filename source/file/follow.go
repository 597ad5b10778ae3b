package file

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
)

// FollowOptions configure a Follower.
type FollowOptions struct {
	Name string // the source's name (metrics label)
	Path string
	// Checkpoint is the state file; "" keeps no state.
	Checkpoint string
	// FromStart reads a file without a checkpoint from its start rather
	// than its end.
	FromStart    bool
	MaxEventSize int // 0: 64 MiB
	Cluster      string
	// Poll is how often the file is checked for growth and rotation
	// (default 100 ms). SaveEvery is how often a new position is written
	// to the state file (default 200 ms; and always at Close).
	Poll      time.Duration
	SaveEvery time.Duration
	// ReadSize is how much one read takes (default 1 MiB): at most one
	// batch.
	ReadSize int
	Metrics  *metrics.Metrics
	Log      *slog.Logger
}

// Follower follows one audit log file (file:///path).
type Follower struct {
	o     FollowOptions
	clock *metrics.SourceClock

	f    *os.File
	id   identity
	name string // the file open now (a rotated backup while draining one)
	off  int64  // file offset just past buf
	buf  []byte // read, not yet submitted: a partial last line
	skip bool   // inside a line over MaxEventSize, skipping to its end

	tr        *source.Tracker[Position]
	mu        sync.Mutex
	committed Position
	dirty     bool
	saving    sync.WaitGroup // the periodic saver; Close waits for it
}

// NewFollower returns a follower; Run opens the file.
func NewFollower(o FollowOptions) *Follower {
	if o.MaxEventSize <= 0 {
		o.MaxEventSize = audit.DefaultMaxEventSize
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.SaveEvery <= 0 {
		o.SaveEvery = 200 * time.Millisecond
	}
	if o.ReadSize <= 0 {
		o.ReadSize = 1 << 20
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	fl := &Follower{o: o, clock: o.Metrics.Source(o.Name)}
	fl.tr = source.NewTracker(fl.commit)
	return fl
}

// Name implements source.Source.
func (fl *Follower) Name() string { return fl.o.Name }

// Path is the followed file.
func (fl *Follower) Path() string { return fl.o.Path }

func (fl *Follower) commit(p Position) {
	fl.mu.Lock()
	fl.committed, fl.dirty = p, true
	fl.mu.Unlock()
}

// save writes the committed position when it changed.
func (fl *Follower) save() error {
	fl.mu.Lock()
	p, dirty := fl.committed, fl.dirty
	fl.dirty = false
	fl.mu.Unlock()
	if !dirty || fl.o.Checkpoint == "" {
		return nil
	}
	if err := SaveCheckpoint(fl.o.Checkpoint, p); err != nil {
		fl.mu.Lock()
		fl.dirty = true
		fl.mu.Unlock()
		return err
	}
	return nil
}

// Run follows the file until ctx ends.
func (fl *Follower) Run(ctx context.Context, p source.Pipeline) error {
	if err := fl.start(); err != nil {
		return err
	}
	fl.saving.Add(1)
	go func() { defer fl.saving.Done(); fl.saveLoop(ctx) }()
	t := time.NewTicker(fl.o.Poll)
	defer t.Stop()
	for {
		progressed, err := fl.step(ctx, p)
		if err != nil || ctx.Err() != nil {
			return err
		}
		if progressed {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (fl *Follower) saveLoop(ctx context.Context) {
	source.Every(ctx, fl.o.SaveEvery, func() {
		if err := fl.save(); err != nil {
			fl.o.Log.Error("saving the file position failed", "source", fl.o.Name, "err", err)
		}
	})
}

// start opens the file where the checkpoint says, or at its end (start).
func (fl *Follower) start() error {
	cp, ok, err := LoadCheckpoint(fl.o.Checkpoint)
	if err != nil {
		return err
	}
	if !ok {
		return fl.openPath(!fl.o.FromStart)
	}
	fl.committed = cp
	fi, err := os.Stat(fl.o.Path)
	if err == nil && identityOf(fi) == (identity{cp.Dev, cp.Inode}) {
		off := cp.Offset
		if fi.Size() < off { // truncated while we were down
			off = 0
		}
		return fl.open(fl.o.Path, off)
	}
	if old, found := findInode(filepath.Dir(fl.o.Path), identity{cp.Dev, cp.Inode}); found {
		fl.o.Log.Info("resuming in the rotated file first", "source", fl.o.Name, "file", old, "offset", cp.Offset)
		return fl.open(old, cp.Offset)
	}
	fl.o.Log.Warn("the checkpointed file is gone (rotated and compressed or deleted); starting the current file at 0",
		"source", fl.o.Name, "inode", cp.Inode, "offset", cp.Offset)
	return fl.openPath(false)
}

// openPath opens the followed path at its start or end; a missing file is
// waited for (and then read from its start: all of it is new).
func (fl *Follower) openPath(atEnd bool) error {
	fi, err := os.Stat(fl.o.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	off := int64(0)
	if atEnd {
		off = fi.Size()
	}
	return fl.open(fl.o.Path, off)
}

func (fl *Follower) open(name string, off int64) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	fl.f, fl.id, fl.name, fl.off, fl.buf, fl.skip = f, identityOf(fi), name, off, fl.buf[:0], false
	return nil
}

// step reads once. It reports whether it made progress (read data or
// switched files), so the caller only sleeps when there is nothing new.
func (fl *Follower) step(ctx context.Context, p source.Pipeline) (bool, error) {
	if fl.f == nil {
		if err := fl.openPath(false); err != nil || fl.f == nil {
			return false, err
		}
	}
	n, err := fl.read()
	if n > 0 {
		return true, fl.submitLines(ctx, p, false)
	}
	if err != nil && err != io.EOF {
		return false, err
	}
	return fl.atEOF(ctx, p)
}

// read appends up to ReadSize bytes to buf.
func (fl *Follower) read() (int, error) {
	if cap(fl.buf)-len(fl.buf) < fl.o.ReadSize {
		nb := make([]byte, len(fl.buf), len(fl.buf)+fl.o.ReadSize)
		copy(nb, fl.buf)
		fl.buf = nb
	}
	n, err := fl.f.Read(fl.buf[len(fl.buf):cap(fl.buf)])
	fl.buf = fl.buf[:len(fl.buf)+n]
	fl.off += int64(n)
	return n, err
}

// atEOF checks for truncation and rotation at the end of the file.
func (fl *Follower) atEOF(ctx context.Context, p source.Pipeline) (bool, error) {
	fi, err := os.Stat(fl.o.Path)
	if err != nil {
		return false, nil // moved away, not yet recreated: keep the old one
	}
	id := identityOf(fi)
	if id == fl.id {
		if fi.Size() < fl.off { // copytruncate
			fl.o.Log.Info("file truncated; reading it from the start", "source", fl.o.Name, "file", fl.o.Path)
			return true, fl.open(fl.o.Path, 0)
		}
		return false, nil
	}
	// Rotated: the old file is read to its end (a write may have landed
	// between the last read and the rename), its last partial line is
	// evaluated as it is, and the new file is read from its start.
	for {
		n, err := fl.read()
		if n > 0 {
			if err := fl.submitLines(ctx, p, false); err != nil {
				return false, err
			}
			continue
		}
		if err != nil && err != io.EOF {
			return false, err
		}
		break
	}
	if err := fl.submitLines(ctx, p, true); err != nil {
		return false, err
	}
	fl.f.Close()
	fl.o.Log.Info("file rotated; following the new one", "source", fl.o.Name, "file", fl.o.Path)
	return true, fl.open(fl.o.Path, 0)
}

// submitLines submits the complete lines in buf as one batch (all of buf
// when final), keeping a partial last line for the next read.
func (fl *Follower) submitLines(ctx context.Context, p source.Pipeline, final bool) error {
	end := bytes.LastIndexByte(fl.buf, '\n') + 1
	if final {
		end = len(fl.buf)
	}
	start := 0
	if fl.skip {
		start = fl.skipLong(end)
	}
	if end == 0 || start >= end {
		fl.checkLong()
		return nil
	}
	chunk := bytes.Clone(fl.buf[start:end]) // events alias it while the batch lives
	n := copy(fl.buf, fl.buf[end:])
	fl.buf = fl.buf[:n]
	pos := Position{Path: fl.name, Dev: fl.id.dev, Inode: fl.id.ino, Offset: fl.off - int64(n)}
	b := source.NewBatch(fl.o.Name, fl.decode(chunk))
	fl.tr.Track(b, pos)
	if err := p.Submit(ctx, b); err != nil {
		fl.tr.Forget(b)
		return nil // stopping: the position stays where it was
	}
	return nil
}

// skipLong drops the rest of an over-long line, up to end.
func (fl *Follower) skipLong(end int) int {
	i := bytes.IndexByte(fl.buf[:end], '\n')
	if i < 0 {
		return end
	}
	fl.skip = false
	return i + 1
}

// checkLong starts skipping when the partial line is already over the
// event size limit, so one huge line cannot grow the buffer without bound.
func (fl *Follower) checkLong() {
	if len(fl.buf) <= fl.o.MaxEventSize {
		if fl.skip {
			fl.buf = fl.buf[:0]
		}
		return
	}
	fl.o.Metrics.EventsSkipped.WithLabelValues(fl.o.Name, audit.ReasonTooLarge).Inc()
	fl.o.Log.Warn("line longer than maxEventSize skipped", "source", fl.o.Name, "max_event_size", fl.o.MaxEventSize)
	fl.buf, fl.skip = fl.buf[:0], true
}

func (fl *Follower) decode(chunk []byte) []*audit.Event {
	var events []*audit.Event
	skipped := 0
	opts := audit.Options{MaxEventSize: fl.o.MaxEventSize, Cluster: fl.o.Cluster}
	opts.DecodePayload(chunk, func(e *audit.Event) { events = append(events, e) }, func(pr audit.Problem) {
		skipped++
		fl.o.Metrics.EventsSkipped.WithLabelValues(fl.o.Name, pr.Reason).Inc()
	})
	if n := len(events) + skipped; n > 0 {
		fl.o.Metrics.EventsReceived.WithLabelValues(fl.o.Name).Add(float64(n))
		fl.clock.Received(time.Now())
	}
	return events
}

// Close saves the last committed position.
func (fl *Follower) Close() error {
	// A save still running in the saver could land after Close's and put
	// an older position back: wait for it (Run's context is done by now).
	fl.saving.Wait()
	if fl.f != nil {
		fl.f.Close()
	}
	return fl.save()
}
