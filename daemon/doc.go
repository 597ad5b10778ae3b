// Package daemon is `peregrine run` without the command line: it builds
// the sources, the engine workers and the outputs from a configuration,
// runs them, reloads rules and outputs on SIGHUP, and stops gracefully.
//
// The data path is one direction (DESIGN.md): sources submit batches to
// the Pipeline; a fixed pool of engine workers (one per CPU) evaluates
// each batch in order with its own engine.Worker, encodes each alert once
// and routes it to every output's bounded queue; each output releases the
// batch's hold once it accepted the alert; the source's Tracker commits
// the batch's position when it and every earlier batch were released.
//
// A reload builds a whole new generation (engine, format, outputs) and
// swaps it in atomically; a generation that fails to build leaves the
// running one in place. The old generation's outputs deliver what they
// hold before they close, so no alert is lost to a reload.
package daemon
