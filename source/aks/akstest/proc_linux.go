package akstest

import "syscall"

// childAttr makes the kernel kill a server when the test binary dies, so
// an interrupted test run leaves no emulator behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
