package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Machine says where a report was measured, so runs can be compared.
type Machine struct {
	CPUModel    string  `json:"cpu_model"`
	Cores       int     `json:"cores"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	MemoryBytes int64   `json:"memory_bytes"`
	GoVersion   string  `json:"go_version"`
	OS          string  `json:"os"`
	Arch        string  `json:"arch"`
	Kernel      string  `json:"kernel,omitempty"`
	Commit      string  `json:"commit"`
	LoadStart   float64 `json:"load_average_start"` // 1-minute load average
	LoadEnd     float64 `json:"load_average_end"`
}

func machineInfo() Machine {
	return Machine{
		CPUModel:    cpuModel(),
		Cores:       runtime.NumCPU(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		MemoryBytes: memTotal(),
		GoVersion:   runtime.Version(),
		OS:          runtime.GOOS,
		Arch:        runtime.GOARCH,
		Kernel:      strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		Commit:      commit(),
		LoadStart:   loadAverage(),
	}
}

// busy reports a machine already loaded when the run started: half its
// cores' worth of other work skews every figure, the all-cores ones most.
func (m Machine) busy() bool {
	return m.Cores > 0 && m.LoadStart >= float64(m.Cores)/2
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func cpuModel() string {
	for _, line := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// memTotal reads MemTotal (kB) from /proc/meminfo.
func memTotal() int64 {
	return procKB(readFile("/proc/meminfo"), "MemTotal:")
}

// procKB finds "Key:   N kB" in a /proc file and returns N×1024.
func procKB(text, key string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}

// peakRSS is this process's peak resident set size (VmHWM).
func peakRSS() int64 { return procKB(readFile("/proc/self/status"), "VmHWM:") }

func loadAverage() float64 {
	f := strings.Fields(readFile("/proc/loadavg"))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// commit is the VCS revision stamped into the binary, or else what git says
// about the working directory (go run and go test do not stamp one).
func commit() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += " (modified)"
			}
			return rev
		}
	}
	return gitCommit()
}

// gitCommit asks git read-only questions; GIT_OPTIONAL_LOCKS=0 keeps it from
// touching the index of a checkout others may be using.
func gitCommit() string {
	git := func(args ...string) (string, error) {
		c := exec.Command("git", args...)
		c.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0")
		out, err := c.Output()
		return strings.TrimSpace(string(out)), err
	}
	rev, err := git("rev-parse", "HEAD")
	if err != nil {
		return "unknown"
	}
	if _, err := git("diff-index", "--quiet", "HEAD", "--"); err != nil {
		rev += " (modified)"
	}
	return rev
}

// FindShared locates the shared data directory: $PEREGRINE_SHARED, else
// "shared" beside the repository that holds the working directory, else
// "../shared".
func FindShared() string {
	if d := os.Getenv("PEREGRINE_SHARED"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared")
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return filepath.Join("..", "shared")
		}
		dir = parent
	}
}

// line is the machine on one line, for the table.
func (m Machine) line() string {
	var b strings.Builder
	b.WriteString(m.CPUModel)
	b.WriteString(", ")
	b.WriteString(strconv.Itoa(m.Cores))
	b.WriteString(" cores, ")
	b.WriteString(strconv.FormatFloat(float64(m.MemoryBytes)/(1<<30), 'f', 1, 64))
	b.WriteString(" GiB, ")
	b.WriteString(m.GoVersion)
	b.WriteString(" ")
	b.WriteString(m.OS + "/" + m.Arch)
	return b.String()
}
