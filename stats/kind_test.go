package stats

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The errors below are real: each comes from a dial, a handshake or a
// request on loopback, except where the comment says it is built.

// refusedAddr returns a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// rawServer serves each connection with handle on a loopback listener.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

// readRequest reads one HTTP request's head from c.
func readRequest(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil || line == "\r\n" {
			return
		}
	}
}

// quietTLSServer is httptest.NewTLSServer without logging the handshakes
// its untrusting clients break off.
func quietTLSServer(t *testing.T, h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// freshClient does not share connections with other tests.
func freshClient() *http.Client {
	return &http.Client{Transport: &http.Transport{}}
}

func get(c *http.Client, ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  func(t *testing.T) error
		want Kind
	}{
		{"nil is OK", func(t *testing.T) error { return nil }, OK},
		{"dial a closed port", func(t *testing.T) error {
			_, err := net.Dial("tcp", refusedAddr(t))
			return err
		}, ConnectRefused},
		{"GET a closed port: *url.Error around ECONNREFUSED", func(t *testing.T) error {
			return get(freshClient(), t.Context(), "http://"+refusedAddr(t)+"/")
		}, ConnectRefused},
		{"context deadline already passed", func(t *testing.T) error {
			ts := httptest.NewServer(http.NotFoundHandler())
			t.Cleanup(ts.Close)
			ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
			defer cancel()
			return get(freshClient(), ctx, ts.URL)
		}, Timeout},
		{"http.Client.Timeout awaiting headers", func(t *testing.T) error {
			done := make(chan struct{})
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-done }))
			t.Cleanup(ts.Close)
			t.Cleanup(func() { close(done) })
			c := freshClient()
			c.Timeout = 50 * time.Millisecond
			return get(c, t.Context(), ts.URL)
		}, Timeout},
		{"net.Conn read deadline", func(t *testing.T) error {
			addr := rawServer(t, func(c net.Conn) { time.Sleep(time.Second); c.Close() })
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(-time.Second))
			_, err = c.Read(make([]byte, 1))
			return err
		}, Timeout},
		{"TLS handshake timeout (server never answers)", func(t *testing.T) error {
			addr := rawServer(t, func(c net.Conn) { time.Sleep(2 * time.Second); c.Close() })
			c := &http.Client{Transport: &http.Transport{TLSHandshakeTimeout: 50 * time.Millisecond}}
			return get(c, t.Context(), "https://"+addr+"/")
		}, Timeout},
		{"TLS: untrusted certificate", func(t *testing.T) error {
			ts := quietTLSServer(t, http.NotFoundHandler())
			return get(freshClient(), t.Context(), ts.URL)
		}, TLS},
		{"TLS: trusted certificate, wrong host name", func(t *testing.T) error {
			ts := quietTLSServer(t, http.NotFoundHandler())
			tr := ts.Client().Transport.(*http.Transport).Clone()
			tr.TLSClientConfig.ServerName = "wrong.example"
			return get(&http.Client{Transport: tr}, t.Context(), ts.URL)
		}, TLS},
		{"TLS: server speaks something else (RecordHeaderError)", func(t *testing.T) error {
			addr := rawServer(t, func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n")); c.Close() })
			c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "x"})
			if err == nil {
				c.Close()
			}
			return err
		}, TLS},
		{"TLS: server speaks plain HTTP", func(t *testing.T) error {
			ts := httptest.NewServer(http.NotFoundHandler())
			t.Cleanup(ts.Close)
			u, _ := url.Parse(ts.URL)
			return get(freshClient(), t.Context(), "https://"+u.Host+"/")
		}, TLS},
		{"DNS: resolver fails", func(t *testing.T) error {
			r := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
				return nil, errors.New("no DNS in tests")
			}}
			d := &net.Dialer{Resolver: r}
			c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
			return get(c, t.Context(), "http://shop.invalid/")
		}, DNS},
		{"reset: connection closed with RST after the request", func(t *testing.T) error {
			addr := rawServer(t, func(c net.Conn) {
				readRequest(c)
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			})
			return get(freshClient(), t.Context(), "http://"+addr+"/")
		}, Reset},
		{"reset: body cut short (unexpected EOF)", func(t *testing.T) error {
			addr := rawServer(t, func(c net.Conn) {
				readRequest(c)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
				c.Close()
			})
			return get(freshClient(), t.Context(), "http://"+addr+"/")
		}, Reset},
		{"reset: closed before any response (EOF)", func(t *testing.T) error {
			addr := rawServer(t, func(c net.Conn) { readRequest(c); c.Close() })
			return get(freshClient(), t.Context(), "http://"+addr+"/")
		}, Reset},
		{"reset: EPIPE (built)", func(t *testing.T) error {
			return &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}
		}, Reset},
		{"too many redirects", func(t *testing.T) error {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/again", http.StatusFound)
			}))
			t.Cleanup(ts.Close)
			return get(freshClient(), t.Context(), ts.URL)
		}, Redirects},
		{"response headers over the transport's cap", func(t *testing.T) error {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Big", strings.Repeat("h", 8<<10))
			}))
			t.Cleanup(ts.Close)
			c := &http.Client{Transport: &http.Transport{MaxResponseHeaderBytes: 4 << 10}}
			return get(c, t.Context(), ts.URL)
		}, HeaderTooLarge},
		{"canceled by the run", func(t *testing.T) error {
			ts := httptest.NewServer(http.NotFoundHandler())
			t.Cleanup(ts.Close)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return get(freshClient(), ctx, ts.URL)
		}, Canceled},
		{"wrapped with context by the caller", func(t *testing.T) error {
			_, err := net.Dial("tcp", refusedAddr(t))
			return fmt.Errorf("login spring-form: %w", err)
		}, ConnectRefused},
		{"anything else", func(t *testing.T) error { return errors.New("boom") }, Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.err(t)
			t.Logf("err: %v", err)
			if got := Classify(err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}

func TestStatusKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   Kind
	}{
		{0, OK},        // no response: the error kind says why
		{-1, OK},       // no status at all
		{200, OK},      // success
		{302, OK},      // redirects are for checks to judge
		{399, OK},      // upper edge of 3xx
		{400, HTTP4xx}, // lower edge of 4xx
		{401, HTTP4xx}, // unauthorized
		{499, HTTP4xx}, // upper edge of 4xx
		{500, HTTP5xx}, // lower edge of 5xx
		{504, HTTP5xx}, // gateway timeout is a status, not a Timeout
		{599, HTTP5xx}, // upper edge of 5xx
		{600, OK},      // no class we know
	}
	for _, tt := range tests {
		if got := StatusKind(tt.status); got != tt.want {
			t.Errorf("StatusKind(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestKindNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for k := Kind(0); k < NumKinds; k++ {
		s := k.String()
		if s == "" || seen[s] {
			t.Errorf("kind %d: name %q empty or repeated", k, s)
		}
		seen[s] = true
		if got, ok := ParseKind(s); !ok || got != k {
			t.Errorf("ParseKind(%q) = %v, %v; want %v, true", s, got, ok, k)
		}
	}
	unknown := fmt.Sprintf("kind(%d)", int(NumKinds))
	if got := NumKinds.String(); got != unknown {
		t.Errorf("NumKinds.String() = %q", got)
	}
	if _, ok := ParseKind(unknown); ok {
		t.Error("ParseKind accepted an unknown name")
	}
	if ConnectRefused.String() != "connect_refused" || SessionLost.String() != "session_lost" {
		t.Error("names differ from results.json's")
	}
}

func FuzzParseKind(f *testing.F) {
	for k := Kind(0); k <= NumKinds; k++ {
		f.Add(k.String())
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, ok := ParseKind(s)
		if ok && k.String() != s {
			t.Errorf("ParseKind(%q) = %v, which prints as %q", s, k, k.String())
		}
		if !ok && k != OK {
			t.Errorf("ParseKind(%q) failed but returned %v", s, k)
		}
	})
}
