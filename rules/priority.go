package rules

import (
	"strconv"
	"strings"
)

// Priority is a rule's severity. Lower numbers are more severe, as in
// Falco, so "at least as severe as the minimum" is p <= min.
type Priority int

// The priorities, most severe first, with Falco's numbers.
const (
	Emergency Priority = iota
	Alert
	Critical
	Error
	Warning
	Notice
	Informational
	Debug
)

var priorityNames = [...]string{
	"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug",
}

// ParsePriority reads a priority name in any letter case. "info" is also
// accepted for Informational, as Falco does for legacy rules files.
func ParsePriority(s string) (Priority, bool) {
	for i, name := range priorityNames {
		if strings.EqualFold(s, name) {
			return Priority(i), true
		}
	}
	if strings.EqualFold(s, "info") {
		return Informational, true
	}
	return 0, false
}

// String gives the long form that alerts print ("Informational").
func (p Priority) String() string {
	if p < 0 || int(p) >= len(priorityNames) {
		return "Priority(" + strconv.Itoa(int(p)) + ")"
	}
	return priorityNames[p]
}
