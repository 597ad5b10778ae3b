package output

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/engine"
	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/rules"
)

// ticket counts holds and releases like a source.Batch.
type ticket struct{ holds, releases atomic.Int64 }

func (t *ticket) Hold(n int) { t.holds.Add(int64(n)) }
func (t *ticket) Release()   { t.releases.Add(1) }

func item(line string, tk *ticket) *Item {
	return &Item{Alert: &engine.Alert{Rule: "r", Priority: rules.Warning}, Line: []byte(line + "\n"), Ticket: tk}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// flaky fails its first writes, then accepts.
type flaky struct {
	mu    sync.Mutex
	fails int
	perm  bool
	got   []string
}

func (f *flaky) Name() string { return "flaky" }
func (f *flaky) Close() error { return nil }
func (f *flaky) Write(_ context.Context, items []*Item) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		if f.perm {
			return 0, Permanent(errors.New("refused"))
		}
		return 0, errors.New("down")
	}
	for _, it := range items {
		f.got = append(f.got, string(it.Body()))
	}
	return len(items), nil
}

func TestRouterRetriesAndReleases(t *testing.T) {
	tests := []struct {
		name string
		sink *flaky
		want string
	}{
		{"ok", &flaky{}, "a,b"},
		{"transient failures are retried", &flaky{fails: 2}, "a,b"},
		{"a permanent refusal drops one alert", &flaky{fails: 1, perm: true}, "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRouter([]Sink{tc.sink}, RouterOptions{Metrics: metrics.New(), Log: quiet()})
			tk := &ticket{}
			for _, l := range []string{"a", "b"} {
				if err := r.Route(context.Background(), item(l, tk)); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tc.sink.got, ","); got != tc.want {
				t.Errorf("delivered %q, want %q", got, tc.want)
			}
			if tk.holds.Load() != 2 || tk.releases.Load() != 2 {
				t.Errorf("holds %d releases %d, want 2 and 2", tk.holds.Load(), tk.releases.Load())
			}
		})
	}
}

// blocked never accepts until it is let go; entered is signalled when a
// write starts.
type blocked struct {
	gate    chan struct{}
	entered chan struct{}
	once    sync.Once
}

func (b *blocked) Name() string { return "blocked" }
func (b *blocked) Close() error { return nil }
func (b *blocked) Write(ctx context.Context, items []*Item) (int, error) {
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.gate:
		return len(items), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func TestOverflowPolicies(t *testing.T) {
	for _, pol := range []Overflow{Block, Drop} {
		t.Run(map[Overflow]string{Block: "block", Drop: "drop"}[pol], func(t *testing.T) {
			sink := &blocked{gate: make(chan struct{}), entered: make(chan struct{})}
			m := metrics.New()
			r := NewRouter([]Sink{sink}, RouterOptions{Capacity: 2, Overflow: pol, Metrics: m, Log: quiet()})
			tk := &ticket{}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			// One alert in the sink (wait until it is there), two queued,
			// then the queue is full.
			err := r.Route(ctx, item("x", tk))
			<-sink.entered
			for i := 0; i < 5 && err == nil; i++ {
				err = r.Route(ctx, item("x", tk))
			}
			switch pol {
			case Block:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("route on a full queue: %v, want to block until the deadline", err)
				}
				if tk.releases.Load() != 0 {
					t.Fatal("a blocked alert was released: its position would be committed")
				}
			case Drop:
				if err != nil {
					t.Fatal(err)
				}
				if tk.releases.Load() < 3 {
					t.Fatalf("%d released, want the dropped ones released", tk.releases.Load())
				}
			}
			close(sink.gate)
			r.Close(context.Background())
		})
	}
}

func TestLimiterDelays(t *testing.T) {
	l := NewLimiter(100, 2) // 2 at once, then one per 10 ms
	start := time.Now()
	for range 6 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 35*time.Millisecond {
		t.Fatalf("6 alerts at 100/s with a burst of 2 took %v", d)
	}
	if NewLimiter(0, 10) != nil {
		t.Fatal("rate 0 must mean no limit")
	}
	d := NewLimiter(1, 1)
	if !d.Allow() || d.Allow() {
		t.Fatal("Allow must take the burst, then refuse")
	}
}

func TestFileSinkReopen(t *testing.T) {
	for _, keep := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "alerts.log")
		f, err := NewFile(path, keep)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(context.Background(), []*Item{item("one", nil)})
		os.Rename(path, path+".1") // logrotate
		f.Reopen()
		f.Write(context.Background(), []*Item{item("two", nil)})
		f.Close()
		got, _ := os.ReadFile(path)
		if string(got) != "two\n" {
			t.Errorf("keep_alive=%v: new file has %q", keep, got)
		}
	}
}

func TestHTTPSink(t *testing.T) {
	tests := []struct {
		name     string
		json     bool
		compress bool
		status   []int
		wantErr  string // "", "retry", "permanent"
	}{
		{"json", true, false, []int{200}, ""},
		{"text gzip", false, true, []int{204}, ""},
		{"503 retried", true, false, []int{503}, "retry"},
		{"429 retried", true, false, []int{429}, "retry"},
		{"400 refused", true, false, []int{400}, "permanent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got struct{ ct, ua, enc, body string }
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.ct, got.ua, got.enc = r.Header.Get("Content-Type"), r.UserAgent(), r.Header.Get("Content-Encoding")
				var body io.Reader = r.Body
				if got.enc == "gzip" {
					body, _ = gzip.NewReader(r.Body)
				}
				b, _ := io.ReadAll(body)
				got.body = string(b)
				w.WriteHeader(tc.status[0])
			}))
			defer srv.Close()
			s, err := NewHTTP(HTTPOptions{URL: srv.URL + "/?token=secret", JSON: tc.json, CompressUploads: tc.compress, KeepAlive: true})
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.Write(context.Background(), []*Item{item(`{"rule":"r"}`, nil)})
			switch {
			case tc.wantErr == "" && (err != nil || n != 1):
				t.Fatalf("n=%d err=%v", n, err)
			case tc.wantErr == "retry" && (err == nil || IsPermanent(err)):
				t.Fatalf("err=%v, want a retryable error", err)
			case tc.wantErr == "permanent" && !IsPermanent(err):
				t.Fatalf("err=%v, want permanent", err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows the URL's secret: %v", err)
			}
			wantCT := map[bool]string{true: "application/json", false: "text/plain"}[tc.json]
			if got.ct != wantCT || got.ua != "falcosecurity/falco" || got.body != `{"rule":"r"}` {
				t.Errorf("got %+v", got)
			}
		})
	}
}

// TestHTTPEcho: with http_output.echo the receiver's answer is printed.
func TestHTTPEcho(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ok"}`+"\n")
	}))
	defer srv.Close()
	for _, on := range []bool{true, false} {
		var echo bytes.Buffer
		o := HTTPOptions{URL: srv.URL}
		if on {
			o.Echo = &echo
		}
		s, err := NewHTTP(o)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.Write(context.Background(), []*Item{item("a", nil), item("b", nil)}); err != nil || n != 2 {
			t.Fatalf("n=%d err=%v", n, err)
		}
		want := map[bool]string{true: "{\"status\":\"ok\"}\n{\"status\":\"ok\"}\n", false: ""}[on]
		if echo.String() != want {
			t.Errorf("echo %v: printed %q, want %q", on, echo.String(), want)
		}
	}
}

func TestProgramSink(t *testing.T) {
	for _, keep := range []bool{true, false} {
		out := filepath.Join(t.TempDir(), "out")
		p := NewProgram("cat >> "+out, keep)
		if n, err := p.Write(context.Background(), []*Item{item("a", nil), item("b", nil)}); err != nil || n != 2 {
			t.Fatalf("keep_alive=%v: n=%d err=%v", keep, n, err)
		}
		p.Close()
		got, _ := os.ReadFile(out)
		if string(got) != "a\nb\n" {
			t.Errorf("keep_alive=%v: program got %q", keep, got)
		}
	}
}
