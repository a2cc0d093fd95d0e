//go:build unix

package profiles

import "syscall"

// OpenFileLimit is the process's open-file limit (RLIMIT_NOFILE, soft:
// Go raises it to the hard limit at start-up), or 0 when unknown.
func OpenFileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}
