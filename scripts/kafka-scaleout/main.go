// Command kafka-scaleout measures how Peregrine's Kafka source scales out:
// it runs N `peregrine run` processes in one consumer group over a topic
// with P ≥ N partitions and reports the events per second they evaluate
// together, then checks delivery across a member joining and leaving
// gracefully (no alert missing, none twice) and, with -kill, across a
// member killed (none missing; repeats past the last commit allowed).
//
//	go run ./scripts/kafka-scaleout -n 1,2 -events 100000
//
// The broker is an in-process kfake (real Kafka wire protocol) in this
// harness process, so it shares the machine's cores with the members; the
// numbers compare N against N, they are not a Kafka benchmark. Events
// come from `peregrine gen` (realistic traffic with planted attacks, the
// default rules alert on them); the expected alerts are what `peregrine
// replay --json` prints for the same events. Each run has its own group
// and alerts topic (kafka_output), whose records are compared with the
// expected ones as multisets.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const auditTopic = "audit"

type harness struct {
	bin, dir   string
	c          *kfake.Cluster
	events     int64
	partitions int
	expected   map[string]int // alert JSON -> count
	nexp       int
}

func main() {
	ns := flag.String("n", "1,2", "member counts to measure, comma-separated")
	events := flag.Int64("events", 200_000, "events to generate and consume per run")
	partitions := flag.Int("partitions", 0, "partitions of the audit topic (default: 2 × the largest N)")
	bin := flag.String("bin", "", "peregrine binary (default: build ./cmd/peregrine)")
	handover := flag.Bool("handover", true, "also check a graceful join and leave with 2 members")
	kill := flag.Bool("kill", false, "also check a member killed with SIGKILL")
	keep := flag.Bool("keep", false, "keep the work directory (configurations, member logs)")
	flag.Parse()
	counts, err := parseCounts(*ns)
	check(err)
	if *partitions == 0 {
		*partitions = 2 * counts[len(counts)-1]
	}
	h := &harness{events: *events, partitions: *partitions}
	h.dir, err = os.MkdirTemp("", "kafka-scaleout")
	check(err)
	if *keep {
		fmt.Println("work directory:", h.dir)
	} else {
		defer os.RemoveAll(h.dir)
	}
	h.bin = *bin
	check(h.setup())
	defer h.c.Close()

	fmt.Printf("%d events (%d alerts expected), %d partitions, %s\n\n", h.events, h.nexp, h.partitions, machine())
	fmt.Println("| members | events/s (whole run) | events/s (10%–90%) | members' CPU s per 100k events | alerts missing | alerts twice |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, n := range counts {
		r := h.throughput(n)
		fmt.Printf("| %d | %.0f | %.0f | %.2f | %d | %d |\n", n, r.rate, r.steady, r.cpu*1e5/float64(h.events), r.missing, r.twice)
	}
	if *handover {
		r := h.handover()
		fmt.Printf("\ngraceful join at 30%% and leave at 65%% (2 members): %d alerts missing, %d twice\n", r.missing, r.twice)
	}
	if *kill {
		r := h.killed()
		fmt.Printf("member killed at 50%% (2 members): %d alerts missing, %d twice (allowed: past the last commit)\n", r.missing, r.twice)
	}
}

func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n: %q is not a member count", f)
		}
		out = append(out, n)
	}
	sort.Ints(out)
	return out, nil
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafka-scaleout:", err)
		os.Exit(1)
	}
}

func machine() string {
	out, _ := exec.Command("nproc").Output()
	return "nproc " + strings.TrimSpace(string(out))
}

// setup builds the binary, generates the events, computes the expected
// alerts and loads the events into the audit topic.
func (h *harness) setup() error {
	if h.bin == "" {
		h.bin = filepath.Join(h.dir, "peregrine")
		if out, err := exec.Command("go", "build", "-o", h.bin, "./cmd/peregrine").CombinedOutput(); err != nil {
			return fmt.Errorf("build: %v\n%s", err, out)
		}
	}
	events := filepath.Join(h.dir, "events.jsonl")
	if out, err := exec.Command(h.bin, "gen", "-q", "--events", strconv.FormatInt(h.events, 10), "-o", events).CombinedOutput(); err != nil {
		return fmt.Errorf("gen: %v\n%s", err, out)
	}
	cmd := exec.Command(h.bin, "replay", "-q", "--json", events)
	cmd.Env = append(os.Environ(), "FALCO_HOSTNAME=scaleout")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("replay: %v", err)
	}
	h.expected = lines(strings.Split(strings.TrimSpace(string(out)), "\n"))
	for _, n := range h.expected {
		h.nexp += n
	}
	h.c, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(h.partitions), auditTopic),
		kfake.GroupMinSessionTimeout(100*time.Millisecond),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(16 << 20)}))
	if err != nil {
		return err
	}
	return h.load(events)
}

func lines(ls []string) map[string]int {
	m := map[string]int{}
	for _, l := range ls {
		if l != "" {
			m[l]++
		}
	}
	return m
}

// load produces one record per event, spread evenly over the partitions.
func (h *harness) load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(16<<20), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return err
	}
	defer cl.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	var i int64
	var perr error
	for ; sc.Scan(); i++ {
		v := append([]byte(nil), sc.Bytes()...)
		cl.Produce(context.Background(), &kgo.Record{Topic: auditTopic, Partition: int32(i % int64(h.partitions)), Value: v},
			func(_ *kgo.Record, err error) {
				if err != nil && perr == nil {
					perr = err
				}
			})
	}
	if err := cl.Flush(context.Background()); err != nil {
		return err
	}
	if i != h.events {
		return fmt.Errorf("generated %d events, want %d", i, h.events)
	}
	return perr
}

// member is one `peregrine run` process.
type member struct{ cmd *exec.Cmd }

func (h *harness) start(group, alerts string, sessionTimeout string) *member {
	cfg := fmt.Sprintf(`json_output: true
stdout_output: {enabled: false}
webserver: {enabled: false}
peregrine: {source_silence: {timeout: 0}}
plugins:
  - name: kafka
    init_config:
      brokers: %[1]s
      topics: [%[2]s]
      group_id: %[3]s
      start_offset: earliest
      heartbeat_interval: 300ms
      commit_interval: 100ms         # fine-grained progress for the 10%%–90%% rate
      session_timeout: %[5]s
      max_event_size: 16777216
load_plugins: [kafka]
kafka_output: {enabled: true, brokers: %[1]s, topic: %[4]s}
`, h.c.ListenAddrs()[0], auditTopic, group, alerts, sessionTimeout)
	path := filepath.Join(h.dir, group+".yaml")
	check(os.WriteFile(path, []byte(cfg), 0o644))
	log, err := os.OpenFile(filepath.Join(h.dir, group+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	check(err)
	cmd := exec.Command(h.bin, "run", "-c", path)
	cmd.Env = append(os.Environ(), "FALCO_HOSTNAME=scaleout")
	cmd.Stdout, cmd.Stderr = log, log
	check(cmd.Start())
	return &member{cmd: cmd}
}

// stop sends SIGTERM (a graceful stop: drain, commit, leave), waits, and
// returns the CPU time the member used.
func (m *member) stop() float64 {
	m.cmd.Process.Signal(syscall.SIGTERM)
	m.cmd.Wait()
	st := m.cmd.ProcessState
	return (st.UserTime() + st.SystemTime()).Seconds()
}

// committed is the sum of the group's committed offsets: the events
// whose alerts were delivered.
func (h *harness) committed(group string) int64 {
	var n int64
	if g := h.c.GroupInfo(group); g != nil {
		for _, c := range g.Commits[auditTopic] {
			n += c.Offset
		}
	}
	return n
}

// waitFor waits until the group committed frac of the events and
// returns when.
func (h *harness) waitFor(group string, frac float64) time.Time {
	target := int64(frac * float64(h.events))
	deadline := time.Now().Add(10 * time.Minute)
	for h.committed(group) < target {
		if time.Now().After(deadline) {
			check(fmt.Errorf("group %s stuck at %d of %d events; see %s", group, h.committed(group), target, h.dir))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Now()
}

type result struct {
	rate, steady, cpu float64
	missing, twice    int
}

func (h *harness) throughput(n int) result {
	group, alerts := fmt.Sprintf("scale-%d", n), fmt.Sprintf("alerts-%d", n)
	check(h.c.CreateTopic(alerts, 1, nil))
	t0 := time.Now()
	ms := make([]*member, n)
	for i := range ms {
		ms[i] = h.start(group, alerts, "10s")
	}
	t10 := h.waitFor(group, 0.1)
	t90 := h.waitFor(group, 0.9)
	t100 := h.waitFor(group, 1)
	var cpu float64
	for _, m := range ms {
		cpu += m.stop()
	}
	r := h.compare(alerts)
	r.cpu = cpu
	r.rate = float64(h.events) / t100.Sub(t0).Seconds()
	r.steady = 0.8 * float64(h.events) / t90.Sub(t10).Seconds()
	return r
}

func (h *harness) handover() result {
	group, alerts := "handover", "alerts-handover"
	check(h.c.CreateTopic(alerts, 1, nil))
	a := h.start(group, alerts, "10s")
	h.waitFor(group, 0.3)
	b := h.start(group, alerts, "10s")
	h.waitFor(group, 0.65)
	a.stop()
	h.waitFor(group, 1)
	b.stop()
	return h.compare(alerts)
}

func (h *harness) killed() result {
	group, alerts := "killed", "alerts-killed"
	check(h.c.CreateTopic(alerts, 1, nil))
	a := h.start(group, alerts, "2s")
	b := h.start(group, alerts, "2s")
	h.waitFor(group, 0.5)
	a.cmd.Process.Kill()
	a.cmd.Wait()
	h.waitFor(group, 1)
	b.stop()
	return h.compare(alerts)
}

// compare reads the alerts topic and counts expected alerts missing from
// it and alerts in it more often than expected.
func (h *harness) compare(topic string) result {
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	check(err)
	defer cl.Close()
	got := map[string]int{}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		recs := fs.Records()
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			got[string(r.Value)]++
		}
	}
	var r result
	for a, n := range h.expected {
		r.missing += max(n-got[a], 0)
	}
	for a, n := range got {
		r.twice += max(n-h.expected[a], 0)
	}
	return r
}
