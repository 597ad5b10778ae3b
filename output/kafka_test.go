package output

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/internal/kafkaconn"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/rules"
)

const alertTopic = "alerts"

func kafkaCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, alertTopic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func kafkaSink(t *testing.T, brokers []string, o KafkaOptions) *Kafka {
	t.Helper()
	o.Conn = kafkaconn.Options{Brokers: brokers, ClientID: "test"}
	o.Topic = alertTopic
	if o.Format.Hostname == "" {
		o.Format = DefaultFormat()
		o.Format.Hostname = "host-1"
	}
	k, err := NewKafka(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func alertItem(f Format, rule string, prio rules.Priority, fields ...engine.OutputField) *Item {
	a := &engine.Alert{Time: 1, Rule: rule, Priority: prio, Source: "k8s_audit", Output: "out " + rule, Fields: fields}
	return &Item{Alert: a, Line: f.Append(nil, a)}
}

// consume reads n records of the alert topic.
func consume(t *testing.T, brokers []string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(alertTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("got %d of %d records", len(out), n)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// TestKafkaPublishes checks each record's JSON value (the alert as Falco
// writes it, even when the daemon's own format is text), key and headers.
func TestKafkaPublishes(t *testing.T) {
	c := kafkaCluster(t, kfake.SeedTopics(1, alertTopic)) // one partition: records in write order
	user := engine.OutputField{Name: "ka.user.name", Kind: engine.ValueString, Str: "mallory"}
	cluster := engine.OutputField{Name: "ka.cluster.name", Kind: engine.ValueString, Str: "prod"}
	tests := []struct {
		key, want string
		json      bool
		fields    []engine.OutputField
	}{
		{key: "", want: "Create Privileged Pod", json: true},
		{key: "rule", want: "Create Privileged Pod"},
		{key: "priority", want: "Warning"},
		{key: "hostname", want: "host-1"},
		{key: "cluster", want: "prod", fields: []engine.OutputField{cluster}},
		{key: "cluster", want: "", fields: []engine.OutputField{user}},
		{key: "field:ka.user.name", want: "mallory", fields: []engine.OutputField{cluster, user}},
		{key: "none", want: ""},
	}
	for i, tc := range tests {
		t.Run(tc.key+strconv.Itoa(i), func(t *testing.T) {
			f := DefaultFormat()
			f.Hostname, f.JSON = "host-1", tc.json
			k := kafkaSink(t, c.ListenAddrs(), KafkaOptions{Key: tc.key, Format: f})
			it := alertItem(f, "Create Privileged Pod", rules.Warning, tc.fields...)
			if n, err := k.Write(context.Background(), []*Item{it}); n != 1 || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			recs := consume(t, c.ListenAddrs(), i+1)
			r := recs[len(recs)-1]
			jf := f
			jf.JSON = true
			if want := string(jf.appendJSON(nil, it.Alert)); string(r.Value) != want {
				t.Errorf("value\n%s\nwant\n%s", r.Value, want)
			}
			if string(r.Key) != tc.want {
				t.Errorf("key %q, want %q", r.Key, tc.want)
			}
			if h := r.Headers; len(h) != 3 || string(h[0].Value) != "Create Privileged Pod" || string(h[1].Value) != "Warning" {
				t.Errorf("headers %v", h)
			}
		})
	}
}

// TestKafkaWriteWaitsForAck holds the broker's answer to the produce
// request: Write must not report the alert accepted (which would let its
// event's position be committed) before the broker acknowledged it.
func TestKafkaWriteWaitsForAck(t *testing.T) {
	c := kafkaCluster(t)
	k := kafkaSink(t, c.ListenAddrs(), KafkaOptions{})
	// Connect first, so the held request below is the alert's.
	if err := k.cl.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	ack := make(chan struct{})
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.SleepControl(func() { <-ack })
		return nil, nil, false // then answer normally
	})
	done := make(chan int)
	go func() {
		n, _ := k.Write(context.Background(), []*Item{alertItem(DefaultFormat(), "r", rules.Warning)})
		done <- n
	}()
	select {
	case n := <-done:
		t.Fatalf("Write returned %d before the broker acknowledged", n)
	case <-time.After(200 * time.Millisecond):
	}
	close(ack)
	select {
	case n := <-done:
		if n != 1 {
			t.Fatalf("Write = %d after the ack, want 1", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Write did not return after the ack")
	}
}

// TestKafkaRetriesWhileBrokerDown stops the broker, routes an alert, and
// starts the broker again on the same port: the runner retries until the
// alert is in the topic, and only then releases its ticket.
func TestKafkaRetriesWhileBrokerDown(t *testing.T) {
	c := kafkaCluster(t)
	addr := c.ListenAddrs()[0]
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	c.Close()

	m := metrics.New()
	k := kafkaSink(t, []string{addr}, KafkaOptions{Timeout: time.Second})
	r := NewRouter([]Sink{k}, RouterOptions{Metrics: m, Log: quiet()})
	tk := &ticket{}
	it := alertItem(DefaultFormat(), "r", rules.Warning)
	it.Ticket = tk
	if err := r.Route(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(m.OutputFailed.WithLabelValues("kafka")) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no failed attempt while the broker was down")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if tk.releases.Load() != 0 {
		t.Fatal("ticket released while the broker was down")
	}
	c2 := kafkaCluster(t, kfake.Ports(port))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("not delivered after the broker came back: %v", err)
	}
	if got := tk.releases.Load(); got != 1 {
		t.Fatalf("ticket released %d times, want 1", got)
	}
	if recs := consume(t, c2.ListenAddrs(), 1); string(recs[0].Key) != "r" {
		t.Fatalf("record %v", recs[0])
	}
}
