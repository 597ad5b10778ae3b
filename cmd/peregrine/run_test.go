package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/config"
	"github.com/peregrine-sec/peregrine/source/file"
)

// buildBinary builds peregrine once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "peregrine")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestValidateSeedConfigs runs `validate -c` on every configuration users
// have (the seeds' falco.yaml snippets and upstream's configs).
func TestValidateSeedConfigs(t *testing.T) {
	shared := config.SharedDir("../..")
	if shared == "" {
		t.Skip("../shared is absent")
	}
	paths := append(seedSnippets(t, shared), filepath.Join(shared, "upstream/configs/falco-test/k8s_audit.yaml"),
		filepath.Join(shared, "upstream/configs/k8saudit-gke/falco.yaml"))
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			setSeedEnv(t, p)
			if err := runValidate(&engineFlags{config: p}); err != nil {
				t.Fatalf("validate -c %s: %v", p, err)
			}
		})
	}
}

const killRules = `
- rule: Every create
  desc: fires once per event, so alerts can be counted
  condition: ka.verb = create
  output: created id=%ka.auditid
  priority: NOTICE
  source: k8s_audit
`

func auditLine(i int) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"ev-%05d","verb":"create","stageTimestamp":"2024-01-01T00:00:00.%06dZ","objectRef":{"resource":"configmaps","name":"c%d"}}`+"\n", i, i%1000000, i)
}

// TestRunKill follows a growing audit log with a file_output, SIGKILLs the
// daemon again and again during ingest, and checks that the state file is
// never ahead of the outputs and that every expected alert is written at
// least once in the end.
func TestRunKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it repeatedly")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	logPath, alerts := filepath.Join(dir, "audit.log"), filepath.Join(dir, "alerts.log")
	state := filepath.Join(dir, "state")
	os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(killRules), 0o644)
	cfg := fmt.Sprintf(`
plugins:
  - name: k8saudit
    library_path: libk8saudit.so
    init_config: {start_position: beginning}
    open_params: "file://%s"
load_plugins: [k8saudit]
rules_files: [%s]
stdout_output: {enabled: false}
file_output: {enabled: true, keep_alive: true, filename: %s}
webserver: {enabled: false}
watch_config_files: false
peregrine: {state_dir: %s, source_silence: {timeout: 0}, drain_timeout: 5s}
`, logPath, filepath.Join(dir, "rules.yaml"), alerts, state)
	cfgPath := filepath.Join(dir, "falco.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)

	const total = 6000
	writerDone := make(chan struct{})
	go func() { // the apiserver, writing its audit log
		defer close(writerDone)
		f, _ := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		defer f.Close()
		for i := 0; i < total; i += 200 {
			var b strings.Builder
			for j := i; j < i+200; j++ {
				b.WriteString(auditLine(j))
			}
			f.WriteString(b.String())
			time.Sleep(60 * time.Millisecond)
		}
	}()

	start := func() *exec.Cmd {
		c := exec.Command(bin, "run", "-c", cfgPath)
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	checkpoint := filepath.Join(state, "k8saudit", "file.checkpoint")
	for round := range 8 {
		c := start()
		time.Sleep(time.Duration(80+rand.IntN(250)) * time.Millisecond)
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		checkNotAhead(t, round, checkpoint, logPath, alerts)
		t.Logf("round %d: %d of %d alerts written", round, total-len(missing(alerts, total)), total)
	}
	<-writerDone
	c := start()
	deadline := time.Now().Add(20 * time.Second)
	for len(missing(alerts, total)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // up and running, so the stop is a drain
	c.Process.Signal(syscall.SIGTERM)
	if err := waitTimeout(c, 10*time.Second); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if m := missing(alerts, total); len(m) > 0 {
		t.Fatalf("%d alerts never written, e.g. %v", len(m), m[:min(5, len(m))])
	}
	checkNotAhead(t, -1, checkpoint, logPath, alerts)
}

// checkNotAhead: every event before the checkpointed offset has its alert
// in the alerts file.
func checkNotAhead(t *testing.T, round int, checkpoint, logPath, alerts string) {
	t.Helper()
	cp, ok, err := file.LoadCheckpoint(checkpoint)
	if err != nil {
		t.Fatalf("round %d: state file unreadable: %v", round, err)
	}
	if !ok {
		return
	}
	data, _ := os.ReadFile(logPath)
	if int64(len(data)) < cp.Offset {
		t.Fatalf("round %d: checkpoint offset %d past the end of the log", round, cp.Offset)
	}
	n := strings.Count(string(data[:cp.Offset]), "\n")
	if m := missing(alerts, n); len(m) > 0 {
		t.Fatalf("round %d: the state file is ahead of the outputs: %d events before offset %d have no alert (e.g. %v)",
			round, len(m), cp.Offset, m[:min(5, len(m))])
	}
}

// missing returns the ids among the first n events with no alert line.
func missing(alerts string, n int) []string {
	seen := map[string]bool{}
	f, err := os.Open(alerts)
	if err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "id="); i >= 0 {
				seen[sc.Text()[i+3:]] = true
			}
		}
		f.Close()
	}
	var out []string
	for i := range n {
		if id := fmt.Sprintf("ev-%05d", i); !seen[id] {
			out = append(out, id)
		}
	}
	return out
}

func waitTimeout(c *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		c.Process.Kill()
		return fmt.Errorf("did not stop within %v", d)
	}
}
