package eks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/peregrine-sec/peregrine/source/spool"
)

const checkpointVersion = 1

// Checkpoint is the committed position of an EKS source, as its state file
// holds it (JSON): the CloudWatch timestamp of the newest event read, and
// the ids of the delivered events from the start of the range the next
// poll reads (those at Timestamp among them: DESIGN.md's "timestamp plus
// the event ids seen at it", widened to the overlap so late events are not
// lost across a restart either).
type Checkpoint struct {
	Version int `json:"version"`
	// LogGroup is the log group read; a checkpoint of another one is
	// ignored (open_params changed).
	LogGroup string `json:"log_group"`
	// Timestamp is the newest CloudWatch timestamp read, ms.
	Timestamp int64 `json:"timestamp"`
	// WindowStart is where reading resumes, ms.
	WindowStart int64    `json:"window_start"`
	Seen        []SeenAt `json:"seen"`
}

// SeenAt lists the delivered event ids of one CloudWatch timestamp.
type SeenAt struct {
	Timestamp int64    `json:"timestamp"`
	IDs       []string `json:"ids"`
}

// LoadCheckpoint reads a state file; it returns nil when there is none.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cp Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if cp.Version != checkpointVersion {
		return nil, fmt.Errorf("checkpoint %s: version %d, this build reads %d", path, cp.Version, checkpointVersion)
	}
	return &cp, nil
}

// SaveCheckpoint replaces the state file atomically.
func SaveCheckpoint(path string, cp Checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	return spool.WriteFileAtomic(path, append(b, '\n'))
}
