package kafka

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/peregrine-sec/peregrine/audit"
	"github.com/peregrine-sec/peregrine/source"
)

// historyIdle ends a history read that gets no record for this long while
// partitions are unfinished: the rest of their range was compacted or
// deleted away.
var historyIdle = 10 * time.Second

// History is the kafka source's HistoryOpener (`peregrine replay -c CONFIG
// --source kafka --since T [--until T]`): it reads each partition of the
// configured topics from the first offset whose record timestamp is at or
// after since up to, not including, the first one at or after until (the
// end of the partition when until is zero). It reads without a consumer
// group and commits nothing, so it does not disturb running instances.
func History(env source.Env, since, until time.Time) (source.Iterator, error) {
	cfg, err := ParseConfig(env.InitConfig, env.OpenParams)
	if err != nil {
		return nil, err
	}
	if env.Log == nil {
		env.Log = slog.Default()
	}
	conn, err := cfg.Conn.ClientOpts(env.Log)
	if err != nil {
		return nil, err
	}
	ranges, err := historyRanges(conn, cfg.Topics, since, until)
	if err != nil {
		return nil, err
	}
	it := &history{ranges: ranges, dec: newDecoder(cfg), log: env.Log, skips: source.Skips{Log: env.Log}}
	if len(ranges) == 0 {
		return it, nil
	}
	start := map[string]map[int32]kgo.Offset{}
	for tp, r := range ranges {
		if start[tp.topic] == nil {
			start[tp.topic] = map[int32]kgo.Offset{}
		}
		start[tp.topic][tp.part] = kgo.NewOffset().At(r.from)
	}
	opts := append(conn, kgo.ConsumePartitions(start),
		kgo.BrokerMaxReadBytes(int32(min(max(100<<20, cfg.MaxEventSize+1<<20), 1<<30))))
	if it.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, err
	}
	return it, nil
}

// offsetRange is [from, to) of one partition.
type offsetRange struct{ from, to int64 }

// historyRanges lists, per partition, the offsets of since and until.
func historyRanges(conn []kgo.Opt, topics []string, since, until time.Time) (map[topicPartition]offsetRange, error) {
	cl, err := kgo.NewClient(conn...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := listOffsets(ctx, cl, topics, -1)
	if err != nil {
		return nil, err
	}
	froms, err := listOffsets(ctx, cl, topics, since.UnixMilli())
	if err != nil {
		return nil, err
	}
	tos := ends
	if !until.IsZero() {
		if tos, err = listOffsets(ctx, cl, topics, until.UnixMilli()); err != nil {
			return nil, err
		}
	}
	out := map[topicPartition]offsetRange{}
	for tp, end := range ends {
		r := offsetRange{orEnd(froms[tp], end), orEnd(tos[tp], end)}
		if r.from < r.to {
			out[tp] = r
		}
	}
	return out, nil
}

// orEnd is off, or end when no record is at or after the time asked (-1).
func orEnd(off, end int64) int64 {
	if off < 0 {
		return end
	}
	return off
}

// listOffsets asks, for every partition of topics, the first offset whose
// timestamp is at or after ts (ms), or the end offset for ts -1. The
// client sends each partition's question to its leader.
func listOffsets(ctx context.Context, cl *kgo.Client, topics []string, ts int64) (map[topicPartition]int64, error) {
	meta := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(t)
		meta.Topics = append(meta.Topics, mt)
	}
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("kafka metadata: %w", err)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	for _, mt := range mresp.Topics {
		topic := ""
		if mt.Topic != nil {
			topic = *mt.Topic
		}
		if err := kerr.ErrorForCode(mt.ErrorCode); err != nil {
			return nil, fmt.Errorf("kafka topic %s: %w", topic, err)
		}
		lt := kmsg.NewListOffsetsRequestTopic()
		lt.Topic = topic
		for _, mp := range mt.Partitions {
			lp := kmsg.NewListOffsetsRequestTopicPartition()
			lp.Partition, lp.Timestamp, lp.CurrentLeaderEpoch = mp.Partition, ts, -1
			lt.Partitions = append(lt.Partitions, lp)
		}
		req.Topics = append(req.Topics, lt)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets for time: %w", err)
	}
	out := map[topicPartition]int64{}
	for _, lt := range resp.Topics {
		for _, lp := range lt.Partitions {
			if err := kerr.ErrorForCode(lp.ErrorCode); err != nil {
				return nil, fmt.Errorf("kafka offsets of %s/%d: %w", lt.Topic, lp.Partition, err)
			}
			out[topicPartition{lt.Topic, lp.Partition}] = lp.Offset
		}
	}
	return out, nil
}

// history iterates over the records of the ranges.
type history struct {
	cl     *kgo.Client
	ranges map[topicPartition]offsetRange // unfinished partitions
	dec    *decoder
	log    *slog.Logger
	skips  source.Skips
	seq    audit.Sequence
	events []*audit.Event
}

// Next implements source.Iterator.
func (h *history) Next() (*audit.Event, error) {
	for len(h.events) == 0 {
		if len(h.ranges) == 0 {
			return nil, io.EOF
		}
		if err := h.poll(); err != nil {
			return nil, err
		}
	}
	e := h.events[0]
	h.events[0] = nil
	h.events = h.events[1:]
	h.seq.Stamp(e)
	return e, nil
}

func (h *history) poll() error {
	ctx, cancel := context.WithTimeout(context.Background(), historyIdle)
	defer cancel()
	fs := h.cl.PollFetches(ctx)
	if ctx.Err() != nil {
		h.log.Warn("kafka history: no more records before the end of the range (compacted or deleted); stopping",
			"partitions_unfinished", len(h.ranges))
		h.ranges = nil
		return nil
	}
	var ferr error
	fs.EachError(func(topic string, part int32, err error) {
		if ferr == nil {
			ferr = fmt.Errorf("kafka %s/%d: %w", topic, part, err)
		}
	})
	if ferr != nil {
		return ferr
	}
	fs.EachRecord(h.take)
	return nil
}

// take decodes r when it is inside its partition's range, and finishes
// the partition at the range's end.
func (h *history) take(r *kgo.Record) {
	tp := topicPartition{r.Topic, r.Partition}
	rg, ok := h.ranges[tp]
	if !ok || r.Offset >= rg.to {
		delete(h.ranges, tp)
		return
	}
	h.dec.decode(r, func(e *audit.Event) { h.events = append(h.events, e) }, func(p audit.Problem) {
		// Named by the record, which a user can fetch again; a position
		// inside its value would add little.
		at := fmt.Sprintf("topic %s partition %d offset %d", r.Topic, r.Partition, r.Offset)
		h.skips.Report(audit.Problem{File: at, Reason: p.Reason, Msg: p.Msg})
	})
	if r.Offset+1 >= rg.to {
		delete(h.ranges, tp)
	}
}

// OnProblem implements source.Iterator.
func (h *history) OnProblem(fn func(audit.Problem)) { h.skips.OnProblem(fn) }

// Close implements source.Iterator.
func (h *history) Close() error {
	if h.cl != nil {
		h.cl.Close()
	}
	return nil
}
