// Package akstest runs the local servers that the AKS source's tests talk
// to with the real Azure SDK: Azurite (Blob Storage: checkpoints and the
// audit archive) and the repository's Event Hubs fake
// (source/aks/testdata/ehfake, AMQP 1.0 on Node.js's rhea).
//
// Both are Node.js programs that scripts/install-emulators puts in
// $PEREGRINE_EMULATORS (default ~/.cache/peregrine/emulators). Need starts
// them on free loopback ports the first time a test asks, once per test
// binary, and skips the test with the install command when node or a
// package is missing; Main, called from TestMain, stops them after the
// tests. Each test makes its own hub and containers, so tests share the
// servers without seeing each other's data.
package akstest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/internal/syncbuf"
)

// AzuriteKey is Azurite's well-known development account key (public, in
// Azurite's documentation): not a secret.
const AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// Dir is where scripts/install-emulators installs the npm packages.
func Dir() string {
	if d := os.Getenv("PEREGRINE_EMULATORS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "peregrine", "emulators")
}

// Servers are the running emulators.
type Servers struct {
	// BlobConn is the Azurite connection string (devstoreaccount1);
	// BlobAddr its host:port.
	BlobConn string
	BlobAddr string
	Fake     *Fake
	azurite  *exec.Cmd
	exited   chan struct{} // closed once azurite exited and its directory is gone
}

var (
	once    sync.Once
	shared  *Servers
	missing string // why the servers cannot run here
	failed  error
)

// Need returns the servers of this test binary, starting them on first
// use. It skips t when the emulators are not installed and fails it when
// they are but do not start.
func Need(t testing.TB) *Servers {
	t.Helper()
	once.Do(start)
	if missing != "" {
		t.Skipf("AKS emulator test skipped: %s. Install them with ./scripts/install-emulators (npm packages azurite@3.37.0 and rhea@3.0.5 into %s)", missing, Dir())
	}
	if failed != nil {
		t.Fatalf("starting the emulators: %v", failed)
	}
	return shared
}

// Main runs the tests, then stops the servers Need started. Call it from
// TestMain: os.Exit(akstest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Fake.Stop()
		stop(shared.azurite)
		<-shared.exited
	}
	return code
}

// Installed reports why the emulators cannot run ("" when they can).
func Installed() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not installed"
	}
	for _, f := range []string{"node_modules/.bin/azurite-blob", "node_modules/rhea/package.json"} {
		if _, err := os.Stat(filepath.Join(Dir(), f)); err != nil {
			return "the emulators are not installed (" + f + " is missing)"
		}
	}
	return ""
}

func start() {
	if missing = Installed(); missing != "" {
		return
	}
	s := &Servers{}
	if s.azurite, s.exited, s.BlobAddr, failed = startAzurite(); failed != nil {
		return
	}
	s.BlobConn = BlobConn(s.BlobAddr)
	if s.Fake, failed = startFake(0); failed != nil {
		stop(s.azurite)
		return
	}
	shared = s
}

// startAzurite runs azurite-blob in memory on a free port.
func startAzurite() (*exec.Cmd, chan struct{}, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, nil, "", err
	}
	dir, err := os.MkdirTemp("", "peregrine-azurite-")
	if err != nil {
		return nil, nil, "", err
	}
	cmd := exec.Command(filepath.Join(Dir(), "node_modules/.bin/azurite-blob"),
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--skipApiVersionCheck",
		"--disableTelemetry", "--inMemoryPersistence", "--silent")
	cmd.Dir = dir // whatever it writes lands there, not in the package
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, nil, "", err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); os.RemoveAll(dir); close(exited) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			return nil, nil, "", fmt.Errorf("azurite-blob exited: %s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop(cmd)
			<-exited
			return nil, nil, "", fmt.Errorf("azurite-blob did not listen on %s: %s", addr, out.String())
		}
	}
	return cmd, exited, addr, nil
}

// BlobConn is the connection string of Azurite's development account at
// addr (Azurite itself, or a Proxy to it).
func BlobConn(addr string) string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;BlobEndpoint=http://%s/devstoreaccount1;", AzuriteKey, addr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func stop(cmd *exec.Cmd) {
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Kill()
	}
}

// Fake is a running Event Hubs fake.
type Fake struct {
	AMQPPort, ControlPort int
	cmd                   *exec.Cmd
	stdin                 io.WriteCloser
	done                  chan struct{}
}

// StartFake starts a fake of its own (amqpPort 0: a free port), for tests
// that stop it; t.Cleanup stops it.
func StartFake(t testing.TB, amqpPort int) *Fake {
	t.Helper()
	if m := Installed(); m != "" {
		t.Skipf("AKS emulator test skipped: %s. Install them with ./scripts/install-emulators", m)
	}
	f, err := startFake(amqpPort)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	return f
}

var listening = regexp.MustCompile(`ehfake amqp=(\d+) control=(\d+)`)

func startFake(amqpPort int) (*Fake, error) {
	_, here, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(here), "..", "testdata", "ehfake", "ehfake.js")
	cmd := exec.Command("node", script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(Dir(), "node_modules"), "PORT="+strconv.Itoa(amqpPort))
	cmd.SysProcAttr = childAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &Fake{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	ready := make(chan error, 1)
	go f.read(stdout, ready)
	select {
	case err := <-ready:
		if err != nil {
			f.Stop()
			return nil, fmt.Errorf("ehfake: %v: %s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		f.Stop()
		return nil, fmt.Errorf("ehfake did not start: %s", stderr.String())
	}
	return f, nil
}

// read waits for the line with the ports, then drains the output (set
// EHFAKE_LOG=1 to see what the fake logs: attaches and steals).
func (f *Fake) read(r io.Reader, ready chan<- error) {
	defer close(f.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil && f.AMQPPort == 0 {
			f.AMQPPort, _ = strconv.Atoi(m[1])
			f.ControlPort, _ = strconv.Atoi(m[2])
			ready <- nil
		} else if os.Getenv("EHFAKE_LOG") != "" {
			fmt.Fprintln(os.Stderr, "ehfake:", sc.Text())
		}
	}
	if f.AMQPPort == 0 {
		ready <- fmt.Errorf("exited before listening")
	}
}

// Stop ends the fake and waits for it.
func (f *Fake) Stop() {
	if f.cmd.ProcessState != nil {
		return
	}
	f.stdin.Close()
	f.cmd.Process.Kill()
	<-f.done
	f.cmd.Wait()
}

// ConnString is the Event Hubs connection string of the fake (the SDK's
// development-emulator form: plain AMQP on loopback).
func (f *Fake) ConnString() string { return EventHubConn(f.Addr()) }

// Addr is the fake's AMQP address.
func (f *Fake) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(f.AMQPPort)) }

// EventHubConn is the connection string of an Event Hubs endpoint at addr
// (the fake, or a Proxy to it).
func EventHubConn(addr string) string {
	return fmt.Sprintf("Endpoint=sb://%s;SharedAccessKeyName=k;SharedAccessKey=s;UseDevelopmentEmulator=true", addr)
}

func (f *Fake) call(t testing.TB, method, path string, body []byte, out any) {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", f.ControlPort, path), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("ehfake %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ehfake %s: %s %s", path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("ehfake %s: %v", path, err)
		}
	}
}

// Hub creates a hub with partitions 0..n-1 and returns its name, made
// from the test's name so that tests do not share hubs, and numbered
// when the test runs again in the same process (go test -count).
func (f *Fake) Hub(t testing.TB, n int) string {
	t.Helper()
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	hubRuns.Lock()
	hubRuns.n[name]++
	if k := hubRuns.n[name]; k > 1 {
		name += "-" + strconv.Itoa(k)
	}
	hubRuns.Unlock()
	return f.HubNamed(t, name, n)
}

// hubRuns counts the hubs made for each test name.
var hubRuns = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// HubNamed creates a hub of that name with partitions 0..n-1.
func (f *Fake) HubNamed(t testing.TB, name string, n int) string {
	t.Helper()
	f.call(t, http.MethodPost, fmt.Sprintf("/hubs?name=%s&partitions=%d", name, n), nil, nil)
	return name
}

// Publish appends one message to a partition and returns its sequence
// number.
func (f *Fake) Publish(t testing.TB, hub string, partition int, body []byte) int64 {
	t.Helper()
	var r struct{ Seq int64 }
	f.call(t, http.MethodPost, fmt.Sprintf("/publish?hub=%s&partition=%d", hub, partition), body, &r)
	return r.Seq
}

// Receiver is a link attached to a partition.
type Receiver struct {
	CG   string
	Name string
}

// Receivers returns the receivers attached to each partition of a hub.
func (f *Fake) Receivers(t testing.TB, hub string) map[string][]Receiver {
	t.Helper()
	var st map[string]struct{ Receivers []Receiver }
	f.call(t, http.MethodGet, "/state?hub="+hub, nil, &st)
	out := map[string][]Receiver{}
	for p, s := range st {
		out[p] = s.Receivers
	}
	return out
}

// Drop closes every AMQP connection to the fake.
func (f *Fake) Drop(t testing.TB) {
	t.Helper()
	f.call(t, http.MethodPost, "/drop", nil, nil)
}
