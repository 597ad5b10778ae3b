package file

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peregrine-sec/peregrine/metrics"
	"github.com/peregrine-sec/peregrine/source"
)

// collector records the auditIDs of what it gets and releases at once.
type collector struct {
	mu  sync.Mutex
	ids []string
}

func (c *collector) Submit(_ context.Context, b *source.Batch) error {
	c.mu.Lock()
	for _, e := range b.Events {
		id, _ := e.Top("auditID").Str()
		c.ids = append(c.ids, id)
	}
	c.mu.Unlock()
	b.Release()
	return nil
}

func (c *collector) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids)
}

func line(id string) string {
	return fmt.Sprintf(`{"kind":"Event","auditID":%q,"stageTimestamp":"2024-01-01T00:00:00Z"}`+"\n", id)
}

func appendTo(t *testing.T, path string, ids ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, id := range ids {
		f.WriteString(line(id))
	}
}

// follow runs a follower until stop is called; stop returns after Close.
func follow(t *testing.T, o FollowOptions) (*collector, func()) {
	t.Helper()
	o.Name, o.Poll, o.SaveEvery = "k8saudit", 5*time.Millisecond, 5*time.Millisecond
	o.Metrics = metrics.New()
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	fl := NewFollower(o)
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		if err := fl.Run(ctx, c); err != nil {
			t.Error(err)
		}
		close(done)
	}()
	return c, func() { cancel(); <-done; fl.Close() }
}

func waitFor(t *testing.T, c *collector, want []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(c.got(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("got %v, want %v", c.got(), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestFollowRotation(t *testing.T) {
	tests := []struct {
		name   string
		rotate func(t *testing.T, path string)
	}{
		{"rename and create", func(t *testing.T, path string) {
			os.Rename(path, path+".1")
			appendTo(t, path+".1", "late") // written to the old file after the rename
			appendTo(t, path, "c")
		}},
		{"copytruncate", func(t *testing.T, path string) {
			os.Truncate(path, 0)
			appendTo(t, path, "c")
		}},
		{"rename, compressed backup appears", func(t *testing.T, path string) {
			os.Rename(path, path+".1")
			os.WriteFile(path+".1.gz", []byte("not read"), 0o644)
			appendTo(t, path, "c")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			appendTo(t, path, "old") // before the follower starts: skipped (starts at the end)
			c, stop := follow(t, FollowOptions{Path: path})
			defer stop()
			time.Sleep(20 * time.Millisecond)
			appendTo(t, path, "a", "b")
			waitFor(t, c, []string{"a", "b"})
			tc.rotate(t, path)
			want := []string{"a", "b", "c"}
			if strings.Contains(tc.name, "rename and create") {
				want = []string{"a", "b", "late", "c"}
			}
			waitFor(t, c, want)
		})
	}
}

func TestFollowPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	c, stop := follow(t, FollowOptions{Path: path, FromStart: true})
	defer stop()
	l := line("a")
	os.WriteFile(path, []byte(l[:20]), 0o644)
	time.Sleep(30 * time.Millisecond)
	if len(c.got()) != 0 {
		t.Fatal("a partial line was evaluated")
	}
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(l[20:])
	f.Close()
	waitFor(t, c, []string{"a"})
}

// TestCheckpointResume stops and restarts a follower: it resumes exactly
// after what it had delivered, in the same file or in the rotated one.
func TestCheckpointResume(t *testing.T) {
	tests := []struct {
		name      string
		whileDown func(t *testing.T, path string)
		want      []string
	}{
		{"same file", func(t *testing.T, path string) { appendTo(t, path, "c") }, []string{"c"}},
		{"rotated while down", func(t *testing.T, path string) {
			appendTo(t, path, "c")
			os.Rename(path, path+".1")
			appendTo(t, path, "d")
		}, []string{"c", "d"}},
		{"truncated while down", func(t *testing.T, path string) {
			os.Truncate(path, 0)
			appendTo(t, path, "d")
		}, []string{"d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, cp := filepath.Join(dir, "audit.log"), filepath.Join(dir, "state", "cp.json")
			appendTo(t, path, "a", "b")
			c, stop := follow(t, FollowOptions{Path: path, Checkpoint: cp, FromStart: true})
			waitFor(t, c, []string{"a", "b"})
			stop()
			tc.whileDown(t, path)
			c2, stop2 := follow(t, FollowOptions{Path: path, Checkpoint: cp, FromStart: true})
			defer stop2()
			waitFor(t, c2, tc.want)
		})
	}
}

func TestLongLineSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	c, stop := follow(t, FollowOptions{Path: path, FromStart: true, MaxEventSize: 100, ReadSize: 64})
	defer stop()
	long := `{"kind":"Event","auditID":"big","pad":"` + strings.Repeat("x", 500) + `"}` + "\n"
	os.WriteFile(path, []byte(line("a")+long+line("b")), 0o644)
	waitFor(t, c, []string{"a", "b"})
}
