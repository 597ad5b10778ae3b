package gen

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeUnits are tried in order: the longest suffixes first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// ParseSize reads a size such as 1GiB, 256MiB, 500MB, 1.5G or 4096. KB, MB,
// GB and TB are powers of 1000; K, KiB, M, MiB, G, GiB, T and TiB powers of
// 1024. Case does not matter.
func ParseSize(s string) (int64, error) {
	num, mult := strings.ToUpper(strings.TrimSpace(s)), int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || v*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 1GiB, 256MiB, 500MB)", s)
	}
	return int64(v * float64(mult)), nil
}
