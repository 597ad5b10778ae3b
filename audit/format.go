package audit

import "strconv"

// Format reads documents of a foreign shape, such as a cloud provider's log
// wrapper, as audit payloads. The source packages that know each shape
// (AKS diagnostic records, CloudWatch exports, GKE log entries) provide a
// Format; the reader calls it for documents that are not audit data, or for
// every document when the user forces the format.
type Format struct {
	// Name is what --format calls it ("aks", "cloudwatch", "gke").
	Name string
	// Lines makes the reader hand Convert each line as it is, without
	// requiring JSON (for exports such as "TIME MESSAGE" lines).
	Lines bool
	// Match reports whether a valid JSON document (or a line, for Lines
	// formats) has this shape; the reader tries the Formats in order.
	Match func(doc []byte) bool
	// Convert calls emit with each audit payload (an Event, an EventList or
	// an array of them) the document holds, with the cluster its record
	// names ("" when none; --cluster wins over it), and skip for each part
	// it cannot use, with a reason (a short stable key, counted) and a
	// message. emit may keep the bytes it is given.
	Convert func(doc []byte, emit func(payload []byte, cluster string), skip func(reason, msg string))
}

// formatFor picks the Format for a document that is not audit data.
func (o *Options) formatFor(doc []byte) *Format {
	if o.Force != nil {
		return o.Force
	}
	for _, f := range o.Formats {
		if !f.Lines && f.Match != nil && f.Match(doc) {
			return f
		}
	}
	return nil
}

// lineFormatFor picks a Lines format for a line that is not JSON.
func (o *Options) lineFormatFor(line []byte) *Format {
	if o.Force != nil {
		if o.Force.Lines {
			return o.Force
		}
		return nil
	}
	for _, f := range o.Formats {
		if f.Lines && f.Match != nil && f.Match(line) {
			return f
		}
	}
	return nil
}

// convert decodes doc (at buf[start]) through format f, queueing the events
// it yields. Their bytes are the converted payloads, which nothing reuses.
func (s *stream) convert(f *Format, start int, doc []byte) {
	line := s.lineAt(start)
	inner := s.opts
	inner.Force, inner.Formats = nil, nil
	f.Convert(doc, func(payload []byte, cluster string) {
		if s.opts.Cluster != "" {
			cluster = s.opts.Cluster
		}
		inner.DecodePayload(payload, func(e *Event) {
			e.Cluster = cluster
			if s.name != "" {
				e.Source = s.name + ":" + strconv.Itoa(line)
			}
			s.converted = append(s.converted, e)
		}, func(p Problem) {
			p.File, p.Line, p.Offset = s.name, line, s.base+int64(start)
			if s.problem != nil {
				s.problem(p)
			}
		})
	}, func(reason, msg string) {
		s.report(start, reason, f.Name+": "+msg)
	})
}
