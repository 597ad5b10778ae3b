package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SegmentSize is the size past which a new segment starts.
const SegmentSize = 64 << 20

const headerSize = 16

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrFull is returned by Append while the spool holds MaxBytes of
// undelivered records: the webhook answers 429 with Retry-After.
var ErrFull = errors.New("spool full")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("spool closed")

// Spool is a durable FIFO of records. Append is safe for concurrent use;
// Next is for one reader goroutine.
type Spool struct {
	dir      string
	maxBytes int64

	mu       sync.Mutex
	cond     *sync.Cond // signalled when records are appended or on close
	closed   bool
	segs     []segment // oldest first; the last one is being written
	w        *os.File  // the last segment, for appending
	wsize    int64
	next     uint64  // seq of the next record
	sizes    []int64 // sizes of records acked+1 ... next-1, in order
	pending  int64   // sum of sizes
	acked    uint64
	ackDirty bool

	syncMu sync.Mutex
	synced uint64 // every record below this is on disk

	r    reader
	stop chan struct{}
	done chan struct{}
}

type segment struct {
	first uint64
	path  string
}

// Open opens (or creates) the spool in dir, bounded to maxBytes of
// undelivered records (0: 1 GiB).
func Open(dir string, maxBytes int64) (*Spool, error) {
	if maxBytes <= 0 {
		maxBytes = 1 << 30
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, next: 1, stop: make(chan struct{}), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	if err := s.recover(); err != nil {
		return nil, err
	}
	go s.flushAcks()
	return s, nil
}

// recover reads the ack file and the segments, cuts a torn tail and sets
// the reader at the first unacknowledged record.
func (s *Spool) recover() error {
	s.acked = readAck(filepath.Join(s.dir, "acked"))
	segs, err := listSegments(s.dir)
	if err != nil {
		return err
	}
	s.segs = segs
	s.next = s.acked + 1
	for i, sg := range segs {
		last := i == len(segs)-1
		if err := s.scan(sg, last); err != nil {
			return err
		}
	}
	s.synced = s.next
	s.trim()
	if len(s.segs) == 0 {
		return s.roll()
	}
	lastSeg := s.segs[len(s.segs)-1]
	f, err := os.OpenFile(lastSeg.path, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	s.w, s.wsize = f, st.Size()
	return nil
}

// scan walks one segment's records, counting the unacknowledged ones. A
// bad record ends the segment; in the last segment the file is cut there.
func (s *Spool) scan(sg segment, last bool) error {
	f, err := os.Open(sg.path)
	if err != nil {
		return err
	}
	defer f.Close()
	var off int64
	hdr := make([]byte, headerSize)
	var body []byte
	for {
		seq, size, ok := readRecord(f, off, hdr, &body)
		if !ok {
			break
		}
		if seq != s.next && seq > s.acked {
			return fmt.Errorf("spool %s: record %d where %d was expected", sg.path, seq, s.next)
		}
		if seq > s.acked {
			s.sizes = append(s.sizes, size)
			s.pending += size
		}
		s.next = seq + 1
		off += size
	}
	if last {
		return os.Truncate(sg.path, off)
	}
	return nil
}

// readRecord reads the record at off into body; ok is false at the end or
// at a damaged record.
func readRecord(f *os.File, off int64, hdr []byte, body *[]byte) (seq uint64, size int64, ok bool) {
	if _, err := f.ReadAt(hdr, off); err != nil {
		return 0, 0, false
	}
	n := binary.LittleEndian.Uint32(hdr[0:])
	sum := binary.LittleEndian.Uint32(hdr[4:])
	seq = binary.LittleEndian.Uint64(hdr[8:])
	if cap(*body) < int(n) {
		*body = make([]byte, n)
	}
	*body = (*body)[:n]
	if _, err := f.ReadAt(*body, off+headerSize); err != nil {
		return 0, 0, false
	}
	if crc32.Checksum(*body, crcTable) != sum {
		return 0, 0, false
	}
	return seq, headerSize + int64(n), true
}

func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []segment
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		first, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, segment{first: first, path: filepath.Join(dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].first < out[j].first })
	return out, nil
}

// roll starts a new segment at s.next (s.mu held).
func (s *Spool) roll() error {
	if s.w != nil {
		if err := s.w.Sync(); err != nil {
			return err
		}
		s.w.Close()
	}
	p := filepath.Join(s.dir, fmt.Sprintf("%020d.seg", s.next))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.w, s.wsize = f, 0
	s.segs = append(s.segs, segment{first: s.next, path: p})
	return nil
}

// Append adds a record (the parts, concatenated) and returns once it is
// on disk. It fails with ErrFull while MaxBytes of records wait for
// delivery.
func (s *Spool) Append(parts ...[]byte) error {
	seq, err := s.write(parts)
	if err != nil {
		return err
	}
	return s.syncTo(seq)
}

func (s *Spool) write(parts [][]byte) (uint64, error) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	size := int64(headerSize + n)
	rec := make([]byte, headerSize, size)
	for _, p := range parts {
		rec = append(rec, p...)
	}
	binary.LittleEndian.PutUint32(rec[0:], uint32(n))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(rec[headerSize:], crcTable))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if s.pending+size > s.maxBytes && s.pending > 0 {
		return 0, ErrFull
	}
	if s.wsize+size > SegmentSize && s.wsize > 0 {
		if err := s.roll(); err != nil {
			return 0, err
		}
	}
	seq := s.next
	binary.LittleEndian.PutUint64(rec[8:], seq)
	if _, err := s.w.Write(rec); err != nil {
		// The record may be half written: cut it off so the log stays
		// readable, and fail the request (the client retries).
		_ = s.w.Truncate(s.wsize)
		return 0, err
	}
	s.wsize += size
	s.next++
	s.sizes = append(s.sizes, size)
	s.pending += size
	s.cond.Broadcast()
	return seq, nil
}

// syncTo makes every record up to seq durable. Concurrent callers share
// one fsync: whoever gets the lock flushes everything written so far.
func (s *Spool) syncTo(seq uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if seq < s.synced {
		return nil
	}
	s.mu.Lock()
	f, upto := s.w, s.next
	s.mu.Unlock()
	if err := f.Sync(); err != nil {
		return err
	}
	s.synced = upto
	return nil
}

// Pending returns the bytes of records not yet acknowledged.
func (s *Spool) Pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// Ack marks every record up to seq delivered. Segments wholly delivered
// are deleted; the acknowledged position is written out shortly after
// (and at Close): losing it in a crash only repeats records.
func (s *Spool) Ack(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.acked < seq && len(s.sizes) > 0 {
		s.pending -= s.sizes[0]
		s.sizes = s.sizes[1:]
		s.acked++
	}
	if len(s.sizes) == 0 {
		s.sizes = nil // let the backing array go
	}
	s.ackDirty = true
	s.cond.Broadcast()
}

// trim deletes segments whose records are all acknowledged (s.mu held).
func (s *Spool) trim() {
	for len(s.segs) > 1 && s.segs[1].first <= s.acked+1 {
		// The reader is past these records; an open descriptor of
		// a removed file stays readable anyway.
		os.Remove(s.segs[0].path)
		s.segs = s.segs[1:]
	}
}

func (s *Spool) flushAcks() {
	defer close(s.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.saveAck()
		}
	}
}

func (s *Spool) saveAck() error {
	s.mu.Lock()
	if !s.ackDirty {
		s.mu.Unlock()
		return nil
	}
	acked := s.acked
	s.ackDirty = false
	s.trim()
	s.mu.Unlock()
	return writeAck(filepath.Join(s.dir, "acked"), acked)
}

// Close saves the acknowledged position and wakes a blocked Next.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	err := s.saveAck()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r.f != nil {
		s.r.f.Close()
	}
	if cerr := s.w.Close(); err == nil {
		err = cerr
	}
	return err
}

func readAck(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0 // unreadable: deliver everything again rather than lose
	}
	return n
}

// writeAck replaces the ack file atomically (write, fsync, rename).
func writeAck(path string, seq uint64) error {
	return WriteFileAtomic(path, []byte(strconv.FormatUint(seq, 10)+"\n"))
}

// WriteFileAtomic writes data to path through a temporary file, fsync'd
// and renamed over path, then fsyncs the directory: after a crash the file
// holds either the old or the new content, whole.
func WriteFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// reader is the read cursor.
type reader struct {
	f     *os.File
	first uint64 // first seq of the open segment
	off   int64
	seq   uint64 // next seq to return
	hdr   [headerSize]byte
}

// Next returns the next record after those already returned, waiting for
// one to be appended; it fails when ctx ends or the spool is closed. The
// payload is read into buf (grown when too small) and is the caller's.
// The first call after Open starts at the first unacknowledged record.
func (s *Spool) Next(ctx context.Context, buf []byte) (uint64, []byte, error) {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	if s.r.seq == 0 {
		s.r.seq = s.acked + 1
	}
	for s.r.seq >= s.next && !s.closed && ctx.Err() == nil {
		s.cond.Wait()
	}
	if s.closed {
		s.mu.Unlock()
		return 0, buf, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return 0, buf, err
	}
	segs := s.segs
	s.mu.Unlock()
	return s.readNext(segs, buf)
}

// readNext reads record r.seq from the segments (a snapshot that holds
// it), moving to the next segment at the end of one.
func (s *Spool) readNext(segs []segment, buf []byte) (uint64, []byte, error) {
	r := &s.r
	if r.f == nil {
		if err := r.open(segs, r.seq); err != nil {
			return 0, buf, err
		}
	}
	for {
		seq, size, ok := readRecord(r.f, r.off, r.hdr[:], &buf)
		switch {
		case ok && seq == r.seq:
			r.off += size
			r.seq++
			return seq, buf, nil
		case ok && seq < r.seq:
			r.off += size // acknowledged before a restart: skip
			continue
		}
		// The end of this segment: the record is in the next one.
		i := sort.Search(len(segs), func(i int) bool { return segs[i].first > r.first })
		if i == len(segs) {
			return 0, buf, fmt.Errorf("spool: record %d not found", r.seq)
		}
		r.f.Close()
		if err := r.openSeg(segs[i]); err != nil {
			return 0, buf, err
		}
	}
}

// open opens the segment holding seq.
func (r *reader) open(segs []segment, seq uint64) error {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].first > seq }) - 1
	if i < 0 {
		i = 0
	}
	return r.openSeg(segs[i])
}

func (r *reader) openSeg(sg segment) error {
	r.f = nil
	f, err := os.Open(sg.path)
	if err != nil {
		return err
	}
	r.f, r.first, r.off = f, sg.first, 0
	return nil
}
