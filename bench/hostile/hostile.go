// Package hostile is a test HTTP server that misbehaves on purpose, one
// way per endpoint, so that tests can prove a load generator keeps
// running, keeps its memory bounded and classifies each failure.
//
// Every endpoint is a path (the constants below); /ok behaves, and records
// what cookies it was sent, so a test can see what the client's jar kept.
// Nothing is stored: the 1 GB body and the gzip bomb are generated as they
// are written, and every handler stops when the client goes or the server
// closes.
package hostile

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The misbehaving endpoints.
const (
	PathOK              = "/ok"               // 200, a small body; records the Cookie header it got
	PathCookieMalformed = "/cookie/malformed" // Set-Cookie lines no parser accepts, and one good one
	PathCookieOversized = "/cookie/oversized" // a 16 KiB cookie (browsers keep at most 4 KiB)
	PathCookieMany      = "/cookie/many"      // 2,000 Set-Cookie headers in one response
	PathCookieFlood     = "/cookie/flood"     // 5,000: past net/http's own cap of 3,000
	PathCookieForeign   = "/cookie/foreign"   // cookies for another domain and for another path
	PathHeaderHuge      = "/header/huge"      // a 2 MiB response header
	PathBodyHuge        = "/body/huge"        // a 1 GiB body, generated, Content-Length set
	PathGzipBomb        = "/body/gzipbomb"    // Content-Encoding: gzip, 1 GiB of zeros in ~1 MiB
	PathRedirectLoop    = "/redirect/loop"    // 302 to itself, forever
	PathDrip            = "/drip"             // the whole response, status line included, at 1 byte/s
	PathReset           = "/reset"            // promises 1 MiB, sends 64 KiB, then a TCP RST
	PathHang            = "/hang"             // reads the request, never answers
	PathHTTP10          = "/http10"           // HTTP/1.0, no Content-Length, no keep-alive: body ends at close
)

// Sizes of the misbehaviours.
const (
	HugeBody      = 1 << 30 // bytes of PathBodyHuge, and decompressed bytes of PathGzipBomb
	HugeHeader    = 2 << 20 // bytes of PathHeaderHuge's X-Huge header
	ManyCookies   = 2000    // Set-Cookie headers of PathCookieMany
	FloodCookies  = 5000    // Set-Cookie headers of PathCookieFlood
	OversizedSize = 16 << 10
	resetPromise  = 1 << 20
	resetSent     = 64 << 10
)

// Server is the hostile server: one plain HTTP listener and one TLS
// listener whose certificate no client trusts (signed by httptest's own
// CA), both serving every endpoint. It is safe for concurrent use.
type Server struct {
	plain, tls *httptest.Server
	done       chan struct{} // closed by Close: every handler returns
	closeOnce  sync.Once

	bomb []byte // one gzip member of 1 MiB of zeros; the bomb repeats it

	active      atomic.Int64 // handlers running (hijacked ones included)
	bodyWritten atomic.Int64 // bytes of PathBodyHuge and PathGzipBomb written
	okCount     atomic.Int64
	maxCookie   atomic.Int64 // longest Cookie header /ok received
	maxCookies  atomic.Int64 // most cookies /ok received in one request
	foreign     atomic.Int64 // /ok requests that carried a cookie meant for elsewhere
}

// Start starts the server on loopback ports.
func Start() *Server {
	s := &Server{done: make(chan struct{})}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	s.bomb = buf.Bytes()
	s.plain = httptest.NewServer(s)
	s.tls = httptest.NewUnstartedServer(s)
	// Failed handshakes are the point of this listener, not news.
	s.tls.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.tls.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	s.tls.StartTLS()
	return s
}

// URL is the plain HTTP base URL.
func (s *Server) URL() string { return s.plain.URL }

// TLSURL is the HTTPS base URL; its certificate does not verify.
func (s *Server) TLSURL() string { return s.tls.URL }

// Close stops every handler and both listeners.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.plain.Close()
		s.tls.Close()
	})
}

// Stats is what the server saw.
type Stats struct {
	Active      int64 // handlers still running
	BodyWritten int64 // bytes of the huge bodies written, all requests together
	OK          int64 // /ok requests
	MaxCookie   int64 // longest Cookie header /ok received, bytes
	MaxCookies  int64 // most cookies in one /ok request
	Foreign     int64 // /ok requests carrying a cookie set for another domain or path
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	return Stats{
		Active:      s.active.Load(),
		BodyWritten: s.bodyWritten.Load(),
		OK:          s.okCount.Load(),
		MaxCookie:   s.maxCookie.Load(),
		MaxCookies:  s.maxCookies.Load(),
		Foreign:     s.foreign.Load(),
	}
}

// ServeHTTP dispatches on the path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.active.Add(1)
	defer s.active.Add(-1)
	h := w.Header()
	switch r.URL.Path {
	case PathOK:
		s.ok(w, r)
	case PathCookieMalformed:
		h["Set-Cookie"] = []string{"=novalue", "bad name=1", ";;;", "x", "semi=a\"b", "good=1; Path=/"}
		io.WriteString(w, "malformed cookies\n")
	case PathCookieOversized:
		h["Set-Cookie"] = []string{"big=" + strings.Repeat("b", OversizedSize) + "; Path=/", "small=1; Path=/"}
		io.WriteString(w, "oversized cookie\n")
	case PathCookieMany, PathCookieFlood:
		n := ManyCookies
		if r.URL.Path == PathCookieFlood {
			n = FloodCookies
		}
		cs := make([]string, n)
		for i := range cs {
			cs[i] = "c" + strconv.Itoa(i) + "=" + strconv.Itoa(i) + "; Path=/"
		}
		h["Set-Cookie"] = cs
		io.WriteString(w, "many cookies\n")
	case PathCookieForeign:
		h["Set-Cookie"] = []string{"foreign=1; Domain=example.com; Path=/", "elsewhere=1; Path=/elsewhere"}
		io.WriteString(w, "foreign cookies\n")
	case PathHeaderHuge:
		h.Set("X-Huge", strings.Repeat("h", HugeHeader))
		io.WriteString(w, "huge header\n")
	case PathBodyHuge:
		h.Set("Content-Length", strconv.Itoa(HugeBody))
		s.stream(w, make([]byte, 64<<10), HugeBody)
	case PathGzipBomb:
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Type", "text/plain")
		s.stream(w, s.bomb, int64(len(s.bomb))*(HugeBody>>20))
	case PathRedirectLoop:
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		http.Redirect(w, r, PathRedirectLoop+"?n="+strconv.Itoa(n+1), http.StatusFound)
	case PathDrip:
		s.hijack(w, s.drip)
	case PathReset:
		s.hijack(w, reset)
	case PathHang:
		s.hijack(w, s.hang)
	case PathHTTP10:
		s.hijack(w, func(c net.Conn) {
			io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello over HTTP/1.0\n")
			c.Close()
		})
	default:
		http.NotFound(w, r)
	}
}

// ok answers 200 and notes the cookies it was sent.
func (s *Server) ok(w http.ResponseWriter, r *http.Request) {
	s.okCount.Add(1)
	n := int64(len(strings.Join(r.Header.Values("Cookie"), "; ")))
	raise(&s.maxCookie, n)
	raise(&s.maxCookies, int64(len(r.Cookies())))
	for _, c := range r.Cookies() {
		if c.Name == "foreign" || c.Name == "elsewhere" {
			s.foreign.Add(1)
			break
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"ok":true,"cookie_bytes":%d}`, n)
}

func raise(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// stream writes chunk over and over until total bytes are out, the client
// goes (a write fails) or the server closes.
func (s *Server) stream(w http.ResponseWriter, chunk []byte, total int64) {
	for sent := int64(0); sent < total; {
		select {
		case <-s.done:
			return
		default:
		}
		n, err := w.Write(chunk[:min(int64(len(chunk)), total-sent)])
		sent += int64(n)
		s.bodyWritten.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// hijack takes the connection from net/http and hands it to f.
func (s *Server) hijack(w http.ResponseWriter, f func(net.Conn)) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f(c)
}

// drip writes a whole response one byte per second, for at most two
// minutes, stopping when the client goes or the server closes.
func (s *Server) drip(c net.Conn) {
	defer c.Close()
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("d", 100)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for i := 0; i < len(resp) && i < 120; i++ {
		if _, err := c.Write([]byte{resp[i]}); err != nil {
			return
		}
		select {
		case <-s.done:
			return
		case <-t.C:
		}
	}
}

// reset promises a body, sends part of it, and aborts the connection with
// a RST (SO_LINGER 0), as a crashing server or a middlebox would.
func reset(c net.Conn) {
	fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", resetPromise)
	c.Write(make([]byte, resetSent))
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// hang holds the connection without a word until the client closes it,
// the server closes, or two minutes pass.
func (s *Server) hang(c net.Conn) {
	defer c.Close()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		io.Copy(io.Discard, c) // returns when the client closes
	}()
	select {
	case <-gone:
	case <-s.done:
	case <-time.After(2 * time.Minute):
	}
}
