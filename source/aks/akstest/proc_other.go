//go:build !linux

package akstest

import "syscall"

// childAttr: elsewhere the fake still exits when its stdin closes.
func childAttr() *syscall.SysProcAttr { return nil }
