// Package output is the end of the data path: it encodes alerts in Falco's
// text and JSON shapes (Format.Append) and delivers them to the outputs
// falco.yaml enables (stdout, file, HTTP, program, syslog).
//
// A Router hands each alert, encoded once, to one bounded queue per
// output; a runner per output writes what its queue holds in batches and
// retries failures with backoff. When a queue is full the overflow policy
// decides: block (wait, so the sources slow down; nothing is lost) or drop
// (count and log). An outputs.rate token bucket delays alerts, or drops
// them when the user chose so. Each output releases an alert's Ticket once
// it accepted the alert, which is what lets a source commit its position
// (see package source): the output never knows where events came from.
package output
