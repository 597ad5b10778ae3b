package daemon

import (
	"os"
	"path/filepath"
	"testing"
)

// configMapVolume lays files out as the kubelet does for a ConfigMap
// volume: each name is a link to ..data/name, ..data a link to a
// timestamped directory. update writes a new one and swaps ..data.
type configMapVolume struct {
	t   *testing.T
	dir string
	gen int
}

func (v *configMapVolume) update(files map[string]string) {
	v.gen++
	ts := filepath.Join(v.dir, "..2024_01_0"+string(rune('0'+v.gen)))
	if err := os.Mkdir(ts, 0o755); err != nil {
		v.t.Fatal(err)
	}
	for name, content := range files {
		os.WriteFile(filepath.Join(ts, name), []byte(content), 0o644)
		os.Symlink(filepath.Join("..data", name), filepath.Join(v.dir, name)) // fails harmlessly once it exists
	}
	tmp := filepath.Join(v.dir, "..data_tmp")
	os.Symlink(filepath.Base(ts), tmp)
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		v.t.Fatal(err)
	}
}

// TestFileStampsConfigMap: an update of a ConfigMap volume changes the
// stamps, whether a file of it or its directory is watched.
func TestFileStampsConfigMap(t *testing.T) {
	v := &configMapVolume{t: t, dir: t.TempDir()}
	v.update(map[string]string{"falco.yaml": "priority: debug\n", "rules.yaml": "- list: a\n  items: []\n"})
	watched := [][]string{{filepath.Join(v.dir, "falco.yaml")}, {v.dir}}
	var before []string
	for _, w := range watched {
		before = append(before, fileStamps(w))
	}
	v.update(map[string]string{"falco.yaml": "priority: warning\n", "rules.yaml": "- list: b\n  items: []\n"})
	for i, w := range watched {
		if fileStamps(w) == before[i] {
			t.Errorf("watching %v: the update did not change the stamps", w)
		}
		if fileStamps(w) != fileStamps(w) {
			t.Errorf("watching %v: stamps differ without a change", w)
		}
	}
}
