//go:build unix

package pool

import "syscall"

// peerClosed reports whether the server closed c (or sent bytes nobody
// asked for) while it sat idle: one read that does not wait. net/http
// learns the same from the read it keeps pending on every idle
// connection.
func (c *fastConn) peerClosed() bool {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var b [1]byte
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		_, rerr = syscall.Read(int(fd), b[:])
		return true // one try: never wait for data
	}); err != nil {
		return true
	}
	return rerr != syscall.EAGAIN
}
