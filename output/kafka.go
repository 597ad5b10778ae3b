package output

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/internal/kafkaconn"
)

// KafkaOptions configure kafka_output.
type KafkaOptions struct {
	Conn  kafkaconn.Options
	Topic string
	// Key picks each record's key (KafkaKeys), which picks its partition:
	// alerts with the same key stay in order.
	Key string
	// Compression is none (default: Event Hubs' Kafka endpoint takes no
	// other reliably), gzip, snappy, lz4 or zstd.
	Compression string
	// Timeout bounds one delivery attempt (default 30s); past it Write
	// fails and the runner retries with backoff.
	Timeout time.Duration
	// Format is the daemon's alert format. Records are always its JSON
	// form (json_include_* apply), whatever json_output says: a topic
	// feeds programs, not terminals.
	Format Format
	Log    *slog.Logger
}

// KafkaKeys are the values of kafka_output.key: an alert field, "none"
// (no key: records spread over partitions), or "field:NAME" (an
// output_fields entry, such as field:ka.user.name).
var KafkaKeys = []string{"rule", "priority", "hostname", "cluster", "none", "field:NAME"}

// CheckKafkaKey reports whether key is one of KafkaKeys.
func CheckKafkaKey(key string) error {
	switch {
	case key == "rule", key == "priority", key == "hostname", key == "cluster", key == "none":
		return nil
	case strings.HasPrefix(key, "field:") && len(key) > len("field:"):
		return nil
	}
	return fmt.Errorf("key %q must be one of %s", key, strings.Join(KafkaKeys, ", "))
}

// Kafka is kafka_output: each alert is one record, published with acks
// from every in-sync replica by an idempotent producer (no duplicates
// from the client's own retries, order kept per partition). Write returns
// once the broker acknowledged every record it counts as accepted, so an
// event's Kafka (or file, webhook spool) position is committed only after
// its alerts are durably in the topic.
type Kafka struct {
	o     KafkaOptions
	cl    *kgo.Client
	field string // output field of the key, for cluster and field:NAME
	// lineJSON says the items' lines are already JSON (json_output).
	lineJSON bool
	errs     []error
}

// NewKafka builds the producer; it connects on the first Write, so a
// broker that is down at startup delays alerts without failing the daemon.
func NewKafka(o KafkaOptions) (*Kafka, error) {
	if o.Topic == "" {
		return nil, fmt.Errorf("kafka_output: topic is required")
	}
	if o.Key == "" {
		o.Key = "rule"
	}
	if err := CheckKafkaKey(o.Key); err != nil {
		return nil, fmt.Errorf("kafka_output: %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	lineJSON := o.Format.JSON
	o.Format.JSON = true
	codec, err := compression(o.Compression)
	if err != nil {
		return nil, err
	}
	opts, err := o.Conn.ClientOpts(o.Log)
	if err != nil {
		return nil, fmt.Errorf("kafka_output: %w", err)
	}
	opts = append(opts,
		kgo.DefaultProduceTopic(o.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotence needs acks from all in-sync replicas
		kgo.ProducerBatchCompression(codec),
		kgo.RecordDeliveryTimeout(max(o.Timeout, time.Second)), // the client's minimum
		// The runner hands at most maxWrite alerts per Write and waits
		// for them: the client never buffers more.
		kgo.MaxBufferedRecords(2*maxWrite),
		// Find a returning broker within a second rather than five:
		// alerts wait for it, and a sink sends few metadata requests.
		kgo.MetadataMinAge(time.Second),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka_output: %w", err)
	}
	k := &Kafka{o: o, cl: cl, lineJSON: lineJSON}
	switch {
	case o.Key == "cluster":
		k.field = "ka.cluster.name"
	case strings.HasPrefix(o.Key, "field:"):
		k.field = strings.TrimPrefix(o.Key, "field:")
	}
	return k, nil
}

func compression(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("kafka_output: compression %q must be none, gzip, snappy, lz4 or zstd", name)
}

func (k *Kafka) Name() string { return "kafka" }

// Write produces the items and waits for every acknowledgement. It
// returns the number of items acknowledged before the first failure:
// the client fails the rest of a partition after a failure (gapless
// order), and the runner sends the failed and later ones again, which
// may repeat some that did arrive (at-least-once).
func (k *Kafka) Write(ctx context.Context, items []*Item) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, k.o.Timeout)
	defer cancel()
	k.errs = append(k.errs[:0], make([]error, len(items))...)
	var wg sync.WaitGroup
	wg.Add(len(items))
	for i, it := range items {
		k.cl.Produce(ctx, k.record(it), func(_ *kgo.Record, err error) {
			k.errs[i] = err
			wg.Done()
		})
	}
	wg.Wait()
	for i, err := range k.errs {
		if err != nil {
			return i, k.classify(err)
		}
	}
	return len(items), nil
}

// record is the alert's record: its JSON, its key, and headers naming
// rule, priority and source so consumers can route without parsing.
func (k *Kafka) record(it *Item) *kgo.Record {
	a := it.Alert
	value := it.Body() // shared, read-only: the client does not modify values
	if !k.lineJSON {
		value = k.o.Format.appendJSON(nil, a)
	}
	return &kgo.Record{
		Key:   k.key(a),
		Value: value,
		Headers: []kgo.RecordHeader{
			{Key: "rule", Value: []byte(a.Rule)},
			{Key: "priority", Value: []byte(a.Priority.String())},
			{Key: "source", Value: []byte(a.Source)},
		},
	}
}

func (k *Kafka) key(a *engine.Alert) []byte {
	switch k.o.Key {
	case "rule":
		return []byte(a.Rule)
	case "priority":
		return []byte(a.Priority.String())
	case "hostname":
		return []byte(k.o.Format.Hostname)
	case "none":
		return nil
	}
	for _, f := range a.Fields {
		if f.Name == k.field {
			return []byte(f.Str)
		}
	}
	return nil
}

// classify marks errors no retry can fix (a record over the topic's
// max.message.bytes, one the broker calls invalid) as permanent; the rest
// (brokers down, leadership moving, missing ACLs an operator may fix)
// are retried.
func (k *Kafka) classify(err error) error {
	err = fmt.Errorf("kafka_output: topic %s: %w", k.o.Topic, err)
	for _, perm := range []error{kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord, kerr.CorruptMessage} {
		if errors.Is(err, perm) {
			return Permanent(err)
		}
	}
	return err
}

func (k *Kafka) Close() error {
	k.cl.Close()
	return nil
}
