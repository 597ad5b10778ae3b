// Package spool is the webhook's durable queue: an append-only log of
// request bodies under state_dir, fsync'd before the webhook answers 2xx,
// read back in order by the webhook's evaluation loop and trimmed as
// positions are committed. After a crash, every record past the last
// committed sequence number is read again (at-least-once).
//
// # Why a segment log and not bbolt
//
// The webhook writes each body once, reads it once, in order, and deletes
// it in order: a FIFO. An append-only log does exactly that with one
// write and one fsync per POST, and concurrent POSTs share an fsync
// (group commit), so durability costs one disk flush per burst, not per
// request. bbolt would copy each body into B+tree pages, rewrite the meta
// page and the freelist on every commit (a random-write pattern with two
// fsyncs per transaction), and keep the file at its high-water size; it
// buys random access and multi-key transactions that a FIFO never uses.
//
// # Layout
//
// A spool directory holds segments named by the sequence number of their
// first record (00000000000000000001.seg), rolled at SegmentSize, and a
// file "acked" with the last committed sequence number. A record is
//
//	length uint32 | crc32c(payload) uint32 | seq uint64 | payload
//
// (little-endian). On open, a torn or corrupt record at the end of the
// last segment (a crash mid-write, never answered 2xx) is cut off.
package spool
