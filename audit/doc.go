// Package audit is where Kubernetes audit events enter Peregrine: it holds
// the Event (raw JSON bytes with lazy, zero-copy access to its fields) and
// turns payloads and files into events. Sources (webhook, files, cloud
// archives) feed it bytes; the engine reads the events it produces. It
// knows nothing of rules or outputs.
//
// # From payloads to events
//
// A payload is one JSON document, handled as the k8saudit plugin does
// (RULES-LANGUAGE.md §5.1):
//
//   - an object with "kind": "Event" is one event;
//   - an object with "kind": "EventList" gives one event per element of
//     its "items" array (items are not checked for a kind);
//   - an array gives the events of each element, recursively;
//   - anything else is a "not-audit" problem ("data not recognized as a
//     k8s audit event") and the whole payload is dropped, events of
//     earlier array elements included.
//
// Each event needs a "stageTimestamp" that time.Parse accepts as
// time.RFC3339Nano (the event's Time, in nanoseconds UTC), else that event
// alone is dropped ("no-timestamp"). An event whose compact size is over
// Options.MaxEventSize (64 MiB by default, not upstream's 256 KiB) is
// dropped ("too-large"), never truncated. An event's Raw is its own bytes
// exactly as they were in the input, not re-encoded.
//
// Decoding is lazy: a document is validated once, by a scanner that also
// finds where it ends and, when the document is an object, where its
// members are. "kind", "items" and each event's top-level members are then
// found among those (or, inside arrays and EventLists, with jsonparser).
// Nothing is decoded into maps or structs; the top-level index the engine
// uses (Event.Top) is built here, once.
//
// DecodePayload does this for one payload in memory (the webhook's body);
// its events alias the payload's bytes, and a Sequence numbers them.
//
// # Reading inputs
//
// A Reader reads files, gzip files (recognised by their magic bytes),
// directories (recursively; regular files oldest modification time first,
// ties broken by path, as upstream reads a directory) and standard input
// ("-"). The layout within an input is free: JSON lines, a single
// pretty-printed document, or documents one after another with or without
// newlines between them. Lines have no length limit (upstream stops at 64
// KiB); one document may be up to Options.MaxDocSize (256 MiB by default),
// and a larger one is a "too-large" problem.
//
// A document that is not JSON is a "malformed" problem, reported at the
// line and offset where it starts, with where it turned out broken in the
// message. Reading resumes at the start of the line where the break was
// found (or the next line, when that is the document's first line), at the
// first line from there that starts with '{' or '['. So a bad JSON line costs
// only itself, a truncated line does not take the line after it down, and
// a broken pretty-printed document is one problem, not one per line.
//
// Problems never stop reading: they go to Reader.OnProblem (the replay
// command prints and counts them; --strict turns any into exit status 1),
// or are collected for Reader.Problems; Reader.Counts counts them by
// Reason. Problem.Error prints them as "file:line: (offset N) message",
// lines 1-based and offsets in bytes from the start of the (decompressed)
// input. Reader.Position gives a checkpoint: the input and offset before
// which every event has been returned.
//
// In short:
//
//	r := audit.NewReader(paths, os.Stdin, audit.Options{Cluster: name})
//	r.OnProblem = func(p audit.Problem) { fmt.Fprintln(os.Stderr, p) }
//	for {
//		e, err := r.Next() // err is io.EOF at the end, never anything else
//		if err != nil {
//			break
//		}
//		... e.Raw, e.Time, e.Top("verb") ...
//	}
//
// # Blocks, for replay
//
// A Splitter cuts the same inputs (the same order, gzip and stdin handling)
// into Blocks of about 1 MiB of whole lines, and a BlockDecoder decodes a
// block in place: the same events, problems, lines and offsets as a Reader,
// but events borrow the block's bytes and the decoder's storage, and live
// until the decoder's next Decode. Blocks decode independently, each as if
// a document began at its first byte; where one ends inside a document,
// Decode returns a Tail that the next block must be decoded with. That is
// what lets replay decode on every core (replay.RunBlocks).
//
// # Memory
//
// A Reader reads through one buffer that it reuses; a document is held whole
// only while it is being scanned. Each event gets a copy of its bytes, so
// events stay valid after later calls to Next. The copies, the Events and
// their top-level indexes are carved out of shared chunks (see arena.go): a
// few allocations per hundred events. A kept event keeps its chunks alive
// (at most 256 KiB of bytes). A BlockDecoder copies nothing and rewinds its
// chunks before each block: once they fit a block, decoding allocates
// nothing.
package audit
