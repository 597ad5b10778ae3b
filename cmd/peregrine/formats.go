package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source/aks"
	"github.com/peregrine-sec/peregrine/source/eks"
	"github.com/peregrine-sec/peregrine/source/gke/logentry"
)

// archiveFormats are the cloud log shapes replay recognises besides audit
// events, sniffed per document in this order. Each source package that
// knows a shape contributes its audit.Format here.
var archiveFormats = []*audit.Format{eks.CloudWatchFormat, eks.FilterLogEventsFormat,
	aks.Format, logentry.Format}

// formatOptions sets the reader's formats for --format: "" sniffs every
// known shape, "audit" reads audit events only, a name forces that shape.
func formatOptions(name string, o *audit.Options) error {
	switch name {
	case "":
		o.Formats = archiveFormats
		return nil
	case "audit":
		return nil
	}
	for _, f := range archiveFormats {
		if f.Name == name {
			o.Force = f
			return nil
		}
	}
	return fmt.Errorf("--format %q: expected one of %s", name, strings.Join(formatNames(), ", "))
}

func formatNames() []string {
	names := []string{"audit"}
	for _, f := range archiveFormats {
		names = append(names, f.Name)
	}
	sort.Strings(names[1:])
	return names
}
