//go:build !unix

package pool

// peerClosed is not known without a read that does not wait: a closed
// connection shows when its request fails (and a GET is retried).
func (c *fastConn) peerClosed() bool { return false }
