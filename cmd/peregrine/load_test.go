package main

import (
	"strings"
	"testing"
)

// TestExcerpt: the source line under a message is text of bounded width,
// cut around the column, and the caret still points at the same byte.
func TestExcerpt(t *testing.T) {
	long := strings.Repeat("a", 100) + "X" + strings.Repeat("b", 200)
	tests := []struct {
		name, line string
		col        int
		want       string
		wantCol    int
	}{
		{"short line as is", "  condition: ka.verb = x", 14, "  condition: ka.verb = x", 14},
		{"tab kept", "\tkey: v", 1, "\tkey: v", 1},
		{"control bytes", "a\x00b\x1bc\x7f", 2, "a?b?c?", 2},
		{"invalid UTF-8", "a\xffb", 2, "a?b", 2},
		{"valid UTF-8 kept", "naïve: x", 0, "naïve: x", 0},
		{"long line cut around the column", long, 100, "..." + long[20:180] + "...", 83},
		{"long line, column at its start", long, 3, long[:160] + "...", 3},
		{"long line, column at its end", long, 300, "..." + long[141:], 162},
	}
	for _, tt := range tests {
		got, col := excerpt(tt.line, tt.col)
		if got != tt.want || col != tt.wantCol {
			t.Errorf("%s: excerpt = %q, %d; want %q, %d", tt.name, got, col, tt.want, tt.wantCol)
		}
		if len(tt.line) > excerptWidth && len(got) > excerptWidth+6 {
			t.Errorf("%s: %d bytes shown", tt.name, len(got))
		}
	}
}
