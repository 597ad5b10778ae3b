package gen

import (
	"strconv"
	"time"
)

const hexDigits = "0123456789abcdef"

// appendUUID writes a random version-4 UUID.
func appendUUID(dst []byte, r *rng) []byte {
	return appendUUIDFrom(dst, r.u64(), r.u64())
}

// appendUUIDFrom writes the version-4 UUID made of hi and lo, so an
// object's UID can be derived from its identity and stay the same in every
// event about it.
func appendUUIDFrom(dst []byte, hi, lo uint64) []byte {
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	var b [36]byte
	j := 0
	for i := 0; i < 16; i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		var x byte
		if i < 8 {
			x = byte(hi >> (56 - 8*i))
		} else {
			x = byte(lo >> (56 - 8*(i-8)))
		}
		b[j], b[j+1] = hexDigits[x>>4], hexDigits[x&15]
		j += 2
	}
	return append(dst, b[:]...)
}

// mix64 is splitmix64's finaliser: a stable hash for deriving names and
// UIDs from (seed, object number).
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// alnum are the characters Kubernetes uses for generated name suffixes
// (no vowels, so suffixes never spell words).
const alnum = "bcdfghjklmnpqrstvwxz2456789"

// appendSuffix writes n characters of a generated name suffix from h.
func appendSuffix(dst []byte, h uint64, n int) []byte {
	for range n {
		dst = append(dst, alnum[h%uint64(len(alnum))])
		h /= uint64(len(alnum))
	}
	return dst
}

func suffix(h uint64, n int) string { return string(appendSuffix(nil, h, n)) }

// clock formats event times fast: the date and time of day are formatted
// once per second, the microseconds by hand.
type clock struct {
	sec    int64
	prefix []byte // "2006-01-02T15:04:05"
}

// appendMicro writes us (microseconds since the epoch) as RFC 3339 with six
// fractional digits, as kube-apiserver writes audit timestamps.
func (c *clock) appendMicro(dst []byte, us int64) []byte {
	sec, frac := us/1e6, us%1e6
	dst = c.appendSecPrefix(dst, sec)
	dst = append(dst, '.')
	for d := int64(100000); d > 0; d /= 10 {
		dst = append(dst, byte('0'+frac/d%10))
	}
	return append(dst, 'Z')
}

// appendSec writes a whole-second RFC 3339 time, as object metadata has.
func (c *clock) appendSec(dst []byte, sec int64) []byte {
	return append(c.appendSecPrefix(dst, sec), 'Z')
}

func (c *clock) appendSecPrefix(dst []byte, sec int64) []byte {
	if sec != c.sec || c.prefix == nil {
		c.sec = sec
		c.prefix = time.Unix(sec, 0).UTC().AppendFormat(c.prefix[:0], "2006-01-02T15:04:05")
	}
	return append(dst, c.prefix...)
}

func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }
