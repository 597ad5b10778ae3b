package rules

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadPathsConfigMapDir: a ConfigMap volume is a directory of links
// into a hidden "..data" directory; its rules files are read, once each.
func TestReadPathsConfigMapDir(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "..2024_01_01")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(data, "b.yaml"), []byte("- list: b\n  items: []\n"), 0o644)
	os.WriteFile(filepath.Join(data, "a.yml"), []byte("- list: a\n  items: []\n"), 0o644)
	os.WriteFile(filepath.Join(data, "notes.txt"), []byte("x"), 0o644)
	os.Symlink("..2024_01_01", filepath.Join(dir, "..data"))
	for _, n := range []string{"a.yml", "b.yaml", "notes.txt"} {
		os.Symlink(filepath.Join("..data", n), filepath.Join(dir, n))
	}
	srcs, _, err := ReadPaths([]string{dir}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 2 || filepath.Base(srcs[0].Name) != "a.yml" || filepath.Base(srcs[1].Name) != "b.yaml" {
		t.Fatalf("read %v", srcs)
	}
}
