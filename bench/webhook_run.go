package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/peregrine-sec/peregrine/source/webhook/webhooktest"
)

// runConfig is the falco.yaml of the child: the webhook on a loopback
// port, the embedded default rules, JSON alerts to a file_output that is
// a named pipe the bench reads, nothing else. The steady run posts each
// batch at its scheduled time in its own goroutine, so on a loaded machine
// more POSTs can be open at once than the default cap (64) allows, which
// kube-apiserver (one POST at a time per backend) never does: the cap is
// raised so that the bench measures latency, not 429s.
const runConfig = `plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    init_config: {webhookMaxInFlight: 4096}
    open_params: "http://127.0.0.1:%d/k8s-audit"
load_plugins: [k8saudit]
json_output: true
stdout_output: {enabled: false}
file_output: {enabled: true, keep_alive: true, filename: %q}
webserver: {enabled: false}
watch_config_files: false
peregrine: {source_silence: {timeout: 0}, drain_timeout: 5s}
`

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// webhookChild measures a `peregrine run` child process.
func webhookChild(cfg Config, plan webhookPlan, events [][]byte) (Webhook, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "webhook-")
	if err != nil {
		return Webhook{}, err
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "alerts.fifo")
	if err := mkfifo(fifo); err != nil {
		w, err := webhookInProcess(plan, events)
		w.Note = "in process: " + err.Error()
		return w, err
	}
	// O_RDWR: opening never blocks, and the pipe has a writer until we
	// close it, so a slow daemon start is no EOF.
	pipe, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		return Webhook{}, err
	}
	clock := &alertClock{}
	read := make(chan struct{})
	go func() { clock.readAlerts(pipe); close(read) }()
	defer func() { pipe.Close(); <-read }()

	port, err := freePort()
	if err != nil {
		return Webhook{}, err
	}
	conf := filepath.Join(dir, "falco.yaml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, runConfig, port, fifo), 0o644); err != nil {
		return Webhook{}, err
	}
	cmd := exec.Command(cfg.Run[0], append(cfg.Run[1:], "-c", conf)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return Webhook{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	alive := func() error {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("peregrine run exited: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
		default:
			return nil
		}
	}
	batches, err := encodeBatches(events)
	if err != nil {
		stop()
		return Webhook{}, err
	}
	c := newClient("http://127.0.0.1:"+strconv.Itoa(port)+"/k8s-audit", batches)
	if err := c.waitReady(15*time.Second, alive); err != nil {
		stop()
		return Webhook{}, err
	}
	w, err := plan.measure(c, clock, "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/status")
	stop()
	if err != nil {
		if aerr := alive(); aerr != nil {
			err = fmt.Errorf("%w (%v)", err, aerr)
		}
		return w, err
	}
	w.Mode = "peregrine run process"
	return w, nil
}

// webhookInProcess measures source/webhook/webhooktest's harness in this
// process: the same webhook, pipeline and engine, alerts timed by its sink
// instead of a file. Its batches are of one size, 250 events (the middle
// of 100–400): the harness names a batch by its stageTimestamps and
// encodes one size per call.
func webhookInProcess(plan webhookPlan, events [][]byte) (Webhook, error) {
	templates := make([]map[string]any, len(events))
	for i, ev := range events {
		if err := json.Unmarshal(ev, &templates[i]); err != nil {
			return Webhook{}, err
		}
	}
	const size = 250
	h, err := webhooktest.Start(webhooktest.Options{JSON: true})
	if err != nil {
		return Webhook{}, err
	}
	defer h.Close()
	w := Webhook{Measured: true, Mode: "in process", BatchSizes: []int{size}, Clients: plan.clients, RatePerSec: WebhookRate,
		Note: "in process (webhooktest): RSS is the bench process's, client included"}
	sat, err := webhooktest.Batches(templates, size, plan.satBatches)
	if err != nil {
		return w, err
	}
	r, err := h.Replay(sat, size*len(sat), plan.clients)
	if err != nil {
		return w, fmt.Errorf("saturation run: %w", err)
	}
	w.EventsPerSec, w.SatEvents, w.SatP50Ms, w.SatP99Ms = r.EventsPerSec, r.Events, ms(r.P50), ms(r.P99)
	w.Alerts = r.Alerts
	n := int(plan.rateSeconds.Seconds() * WebhookRate / size)
	steady, err := webhooktest.Batches(templates, size, max(n, 1))
	if err != nil {
		return w, err
	}
	rss := sampleRSS("/proc/self/status")
	r, err = h.ReplayAt(steady, size*len(steady), WebhookRate)
	w.RSSBytes = rss.end()
	if err != nil {
		return w, fmt.Errorf("steady run: %w", err)
	}
	w.PeakRSSBytes = peakRSS()
	w.RateAchieved, w.RateEvents, w.RateSeconds = r.EventsPerSec, r.Events, r.Elapsed.Seconds()
	w.P50Ms, w.P99Ms = ms(r.P50), ms(r.P99)
	w.Alerts += r.Alerts
	return w, nil
}
