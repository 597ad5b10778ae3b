package aks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source"
)

// History opens the storage account archive of AKS audit logs for
// [since, until) (until zero: now): the source.HistoryOpener of
// k8saudit-aks. The account is archive_storage_connection_string or
// archive_storage_account_url, else the checkpoint store's account; the
// container is archive_container (default insights-logs-kube-audit, and
// insights-logs-kube-audit-admin when only that one exists).
func History(env source.Env, since, until time.Time) (source.Iterator, error) {
	cfg, err := parseConfig(env.InitConfig)
	if err != nil {
		return nil, err
	}
	if until.IsZero() {
		until = time.Now()
	}
	log := env.Log
	if log == nil {
		log = slog.Default()
	}
	ctx := context.Background()
	cc, name, err := archiveContainer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	blobs, err := listHours(ctx, cc, since, until)
	if err != nil {
		return nil, fmt.Errorf("listing container %s: %w", name, err)
	}
	log.Info("reading the AKS audit archive", "container", name, "blobs", len(blobs), "since", since, "until", until)
	a := &archive{ctx: ctx, cc: cc, blobs: blobs, since: since.UnixNano(), until: until.UnixNano(),
		log: log, skips: source.Skips{Log: log}, maxDoc: audit.DefaultMaxDocSize}
	a.dec = decoder{opts: audit.Options{MaxEventSize: cfg.MaxEventSize}, cfg: cfg, openParams: env.OpenParams, skip: a.skipped}
	return a, nil
}

// archiveContainer picks the account and the container that exists.
func archiveContainer(ctx context.Context, cfg Config) (*container.Client, string, error) {
	conn, url := cfg.ArchiveConnString, cfg.ArchiveAccountURL
	if conn == "" && url == "" {
		conn, url = cfg.BlobConnString, cfg.BlobAccountURL
	}
	if conn == "" && url == "" {
		return nil, "", errors.New("init_config: set archive_storage_connection_string or archive_storage_account_url (or the blob_storage ones) to read the archive")
	}
	var cred azcore.TokenCredential
	if conn == "" {
		var err error
		if cred, err = credential(cfg); err != nil {
			return nil, "", err
		}
	}
	names := []string{cfg.ArchiveContainer}
	if cfg.ArchiveContainer == DefaultArchiveContainer {
		names = append(names, DefaultArchiveContainer+"-admin")
	}
	for _, n := range names {
		cc, err := containerClient(conn, url, n, cred)
		if err != nil {
			return nil, "", err
		}
		_, err = cc.GetProperties(ctx, nil)
		if err == nil {
			return cc, n, nil
		}
		if !bloberror.HasCode(err, bloberror.ContainerNotFound) {
			return nil, "", fmt.Errorf("archive container %s: %w", n, err)
		}
	}
	return nil, "", fmt.Errorf("archive container %s not found (is a diagnostic setting archiving kube-audit to this storage account?)", cfg.ArchiveContainer)
}

// hourRE finds the hour of a blob in the path diagnostic settings write:
// resourceId=/SUBSCRIPTIONS/…/MANAGEDCLUSTERS/<name>/y=2024/m=05/d=01/h=13/m=00/PT1H.json
var hourRE = regexp.MustCompile(`(?i)/y=(\d{4})/m=(\d{2})/d=(\d{2})/h=(\d{2})/m=\d{2}/`)

type hourBlob struct {
	name string
	hour time.Time
}

// listHours lists the blobs whose hour overlaps [since, until), oldest
// first (ties by name, so one cluster after another within an hour).
func listHours(ctx context.Context, cc *container.Client, since, until time.Time) ([]hourBlob, error) {
	var out []hourBlob
	pager := cc.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil {
				continue
			}
			h, ok := blobHour(*b.Name)
			if ok && h.Before(until) && h.Add(time.Hour).After(since) {
				out = append(out, hourBlob{*b.Name, h})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].hour.Equal(out[j].hour) {
			return out[i].hour.Before(out[j].hour)
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

func blobHour(name string) (time.Time, bool) {
	m := hourRE.FindStringSubmatch("/" + name)
	if m == nil {
		return time.Time{}, false
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	return time.Date(n(1), time.Month(n(2)), n(3), n(4), 0, 0, 0, time.UTC), true
}

// archive iterates over the events of the listed blobs, in order.
type archive struct {
	ctx          context.Context
	cc           *container.Client
	blobs        []hourBlob
	next         int
	body         io.ReadCloser
	sc           *bufio.Scanner
	queue        []*audit.Event
	dec          decoder
	seq          audit.Sequence
	since, until int64
	maxDoc       int
	log          *slog.Logger
	skips        source.Skips
	events       int
	// lineNo is the number of the blob's last line read, lineAt its offset
	// and pos the offset after it: problems point there as in a file.
	lineNo      int
	lineAt, pos int64
}

// skipped reports a record of the current line that gave no event.
func (a *archive) skipped(reason, msg string) {
	a.skips.Report(audit.Problem{File: a.blobs[a.next-1].name, Line: a.lineNo, Offset: a.lineAt, Reason: reason, Msg: msg})
}

// OnProblem implements source.Iterator.
func (a *archive) OnProblem(fn func(audit.Problem)) { a.skips.OnProblem(fn) }

// Next implements source.Iterator.
func (a *archive) Next() (*audit.Event, error) {
	for len(a.queue) == 0 {
		line, err := a.line()
		if err != nil {
			if err == io.EOF {
				a.log.Info("archive read", "blobs", len(a.blobs), "events", a.events)
			}
			return nil, err
		}
		a.dec.body(line, a.keep)
	}
	e := a.queue[0]
	a.queue[0] = nil
	a.queue = a.queue[1:]
	return e, nil
}

// keep queues an event of the time range.
func (a *archive) keep(e *audit.Event) {
	if e.Time < a.since || e.Time >= a.until {
		return
	}
	a.seq.Stamp(e)
	e.Source = a.blobs[a.next-1].name
	a.events++
	a.queue = append(a.queue, e)
}

// line returns the next non-empty line, opening blobs as it goes.
func (a *archive) line() ([]byte, error) {
	for {
		if a.sc != nil && a.sc.Scan() {
			if b := a.sc.Bytes(); len(b) > 0 {
				return b, nil
			}
			continue
		}
		if a.sc != nil {
			if err := a.sc.Err(); err != nil {
				a.unread(err)
			}
			a.body.Close()
			a.sc, a.body = nil, nil
		}
		if a.next == len(a.blobs) {
			return nil, io.EOF
		}
		if err := a.open(a.blobs[a.next].name); err != nil {
			return nil, err
		}
	}
}

func (a *archive) open(name string) error {
	a.next++
	resp, err := a.cc.NewBlobClient(name).DownloadStream(a.ctx, nil)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	// The retry reader resumes a large blob where a dropped download left off.
	a.body = resp.NewRetryReader(a.ctx, &blob.RetryReaderOptions{MaxRetries: 3})
	a.sc = bufio.NewScanner(a.body)
	a.sc.Buffer(make([]byte, 0, min(256<<10, a.maxDoc)), a.maxDoc) // a larger cap would raise the limit
	a.sc.Split(a.split)
	a.lineNo, a.lineAt, a.pos = 0, 0, 0
	return nil
}

// split is bufio.ScanLines noting where each line starts.
func (a *archive) split(data []byte, atEOF bool) (int, []byte, error) {
	n, tok, err := bufio.ScanLines(data, atEOF)
	if tok != nil {
		a.lineNo++
		a.lineAt = a.pos
	}
	a.pos += int64(n)
	return n, tok, err
}

// unread reports the rest of the blob, from the line that could not be
// read, as skipped.
func (a *archive) unread(err error) {
	reason, msg := audit.ReasonReadError, "read error: "+err.Error()
	if errors.Is(err, bufio.ErrTooLong) {
		reason, msg = audit.ReasonTooLarge, fmt.Sprintf("line over %d bytes", a.maxDoc)
	}
	a.lineNo, a.lineAt = a.lineNo+1, a.pos
	a.skipped(reason, msg+"; the rest of the blob is skipped")
}

// Close implements source.Iterator.
func (a *archive) Close() error {
	if a.body != nil {
		return a.body.Close()
	}
	return nil
}
