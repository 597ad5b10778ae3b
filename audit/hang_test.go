package audit

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHangFind(t *testing.T) {
	dir := os.Getenv("CORPUS")
	fs, _ := filepath.Glob(dir + "/*")
	for _, f := range fs {
		data, _ := os.ReadFile(f)
		lines := strings.Split(string(data), "\n")
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan bool)
		go func() {
			for _, c := range []int{0, 1, 5} {
				validAlone([]byte(s), c)
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("hang on %q", s)
		}
	}
}
