package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"
)

// Server is a Target listening on an address, with its session sweeper.
// Close or Shutdown stops both and waits for them.
type Server struct {
	// Concurrency invariant: the serve and sweep goroutines each close
	// their own channel (served, swept) as their last act, and serveErr is
	// written before served is closed; readers wait on the channel before
	// reading, so Close, Shutdown and Wait may be called from any
	// goroutine, any number of times.

	t        *Target
	srv      *http.Server
	ln       net.Listener
	stop     context.CancelFunc // stops the sweeper
	served   chan struct{}      // closed when Serve has returned
	swept    chan struct{}      // closed when the sweeper has returned
	serveErr error              // Serve's error; read only after <-served
}

// Start listens on addr (e.g. "127.0.0.1:0" for a free loopback port) and
// serves t in the background, sweeping idle sessions every SweepEvery.
func (t *Target) Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	srv := &http.Server{
		Handler:           t,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(logfWriter(t.logf), "target: ", 0),
	}
	if t.cfg.H2C {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		srv.Protocols = &p
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{t: t, srv: srv, ln: ln, stop: stop,
		served: make(chan struct{}), swept: make(chan struct{})}
	go func() {
		defer close(s.served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	go func() {
		defer close(s.swept)
		t.sweepLoop(ctx)
	}()
	t.logf("target: listening on %s", s.URL())
	return s, nil
}

// sweepLoop runs Sweep every SweepEvery until ctx is done, as Tomcat's
// background processor expires idle sessions.
func (t *Target) sweepLoop(ctx context.Context) {
	tick := time.NewTicker(t.cfg.SweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.Sweep()
		}
	}
}

// URL returns the server's base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) URL() string { return "http://" + s.Addr() }

// Addr returns the address the server listens on, as host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Target returns the Target the server serves.
func (s *Server) Target() *Target { return s.t }

// Close closes the listener and every connection at once, stops the
// sweeper and waits for both goroutines to return.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.stop()
	<-s.swept
	<-s.served
	return err
}

// Shutdown stops accepting, waits for in-flight requests (until ctx is
// done), stops the sweeper and waits for it.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.stop()
	<-s.swept
	<-s.served
	return err
}

// Wait blocks until the server stops serving and returns why: nil after
// Close or Shutdown, else the listener's error.
func (s *Server) Wait() error {
	<-s.served
	return s.serveErr
}

// logfWriter adapts Logf to the log.Logger net/http reports to.
type logfWriter func(format string, args ...any)

func (f logfWriter) Write(p []byte) (int, error) {
	f("%s", bytes.TrimSuffix(p, []byte("\n")))
	return len(p), nil
}
