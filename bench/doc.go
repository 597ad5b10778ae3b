// Package bench measures Peregrine and writes the report of `peregrine
// bench`: replay throughput, allocations and peak memory with the upstream
// and the default rules on one core and on all cores, start-up time, and the
// yardstick of a bare validating JSON scan of the same bytes. It stands
// beside the data path and drives it from outside: it generates input with
// package gen and replays it with package replay, as the CLI does.
//
// # One child process per measurement
//
// Each replay measurement, and the validator passes, run in a child process
// (the same binary in a hidden child mode, see IsChild and Child). Peak RSS
// is the kernel's high-water mark (VmHWM), which only ever grows within a
// process: measured in one process, the first large run would hide every
// later one. A child starts clean, so its VmHWM is the peak of that run
// alone, and its runtime.MemStats deltas (allocations per event) and
// GOMAXPROCS (one core or all) are its own too. Child start-up is outside
// the timed region. Running `peregrine replay` as the child would give the
// same RSS but neither the allocation counts nor the detection tallies, and
// would need a second pass for them.
//
// Without a child command (Config.Self empty, as in-process tests may
// choose) the same tasks run in the calling process, and the report says
// that their RSS is the process's.
//
// # The webhook
//
// The webhook is measured against a `peregrine run` child (Config.Run)
// with a generated configuration whose file_output is a named pipe: the
// bench POSTs pre-encoded EventList batches over loopback and times each
// batch from its POST to its last alert read from the pipe. Without
// Config.Run it uses source/webhook/webhooktest in this process.
//
// # What is compared
//
// Every MB/s figure divides the same number, the input's (decompressed)
// size, by the time of one pass that reads the input from the start:
// replay with the rules; encoding/json.Valid and fastjson.ValidateBytes
// over each line; and a pass that only reads lines, the floor under all of
// them. Ratios compare replay with the faster validator, and all cores with
// one.
package bench
