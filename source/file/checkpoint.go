package file

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/peregrine-sec/peregrine/source/spool"
)

// Position is where a followed file is read up to: every line before
// Offset in the file with this identity was delivered.
type Position struct {
	Path   string `json:"path"`
	Dev    uint64 `json:"dev"`
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
}

// identity is a file's device and inode.
type identity struct{ dev, ino uint64 }

func identityOf(fi fs.FileInfo) identity {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return identity{dev: uint64(st.Dev), ino: st.Ino}
	}
	return identity{}
}

// LoadCheckpoint reads a state file; ok is false when there is none.
func LoadCheckpoint(path string) (Position, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Position{}, false, nil
	}
	if err != nil {
		return Position{}, false, err
	}
	var p Position
	if err := json.Unmarshal(b, &p); err != nil {
		return Position{}, false, err
	}
	return p, true, nil
}

// SaveCheckpoint replaces the state file atomically.
func SaveCheckpoint(path string, p Position) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	return spool.WriteFileAtomic(path, append(b, '\n'))
}

// findInode looks for the file with identity id in dir (a rotated backup
// of the followed file).
func findInode(dir string, id identity) (string, bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if identityOf(fi) == id {
			return filepath.Join(dir, e.Name()), true
		}
	}
	return "", false
}
