// Package source is the contract between Peregrine's event sources and the
// pipeline that evaluates their events: where the data path starts.
//
// A source (the k8saudit webhook, a followed audit log, later the cloud
// sources and Kafka) turns what it reads into Batches of *audit.Event and
// submits them, in order, to a Pipeline. Each batch carries a position (a
// file offset, a spool sequence number, a Kafka offset) that the source
// registers with its Tracker before submitting the batch. The pipeline
// evaluates the events, hands every alert to every output, and releases the
// batch once each output has accepted each of its alerts (written it to
// the OS, got a 2xx for it, or dropped it because the user chose to drop
// on overflow). The Tracker then commits the newest position whose batch
// and every earlier batch of the same source are released: positions
// advance in order, and only over delivered alerts. That is the
// at-least-once contract of DESIGN.md: after a crash a source resumes at
// its last committed position, so events past it may be evaluated twice,
// but none is lost.
//
// Sources are chosen by plugin name (plugins:/load_plugins in falco.yaml).
// An Opener builds the sources of one plugin entry; the daemon keeps the
// table of openers this build has, and reports the names of the k8saudit
// family it lacks as unavailable (ErrUnavailable) rather than ignoring them.
package source
