// Package stats measures a run: Samples go in; per-endpoint HDR histograms,
// counters, interval snapshots, session counts, results.json and the summary
// table come out. It imports no other package of this module.
package stats

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Kind is the outcome of a request: OK or the kind of error it met. Errors
// are classified once, here, into the kinds the results report.
type Kind uint8

// The kinds, in the order reports list them.
const (
	OK               Kind = iota
	ConnectRefused        // connect_refused: nothing listens on the port
	Timeout               // timeout: context deadline, net timeout, client timeout
	Reset                 // reset: ECONNRESET, EPIPE, EOF or unexpected EOF mid-response
	TLS                   // tls: handshake, certificate verification
	DNS                   // dns: name resolution
	HTTP4xx               // http_4xx: a 4xx status
	HTTP5xx               // http_5xx: a 5xx status
	CheckFailed           // check_failed: a step's check did not hold
	LoginFailed           // login_failed: the login gave no session
	SessionRejected       // session_rejected: the server refused to create a session
	SessionLost           // session_lost: the server dropped the session; the VU logs in again
	Redirects             // redirects: too many redirects
	Canceled              // canceled: the run stopped the request
	HeaderTooLarge        // header_too_large: response headers over the transport's cap (pool.Options.MaxResponseHeaderBytes)
	CookieRejected        // cookie_rejected: a Set-Cookie a browser would refuse: malformed, oversized, over the per-user count, for another domain
	Unauthorized          // unauthorized: the session was refused again after a re-login, or a fresh login's session was refused at once (wrong credentials)
	TooManyOpenFiles      // too_many_open_files: the generator ran out of file descriptors (EMFILE, ENFILE)
	ExtractFailed         // extract_failed: a step's extraction found nothing (not optional); the iteration stops there
	DataExhausted         // data_exhausted: a unique (or sequence) data source had no row left for the VU; it stops
	Other                 // other: anything else
	NumKinds              // the number of kinds; not a kind
)

var kindNames = [NumKinds]string{
	OK:               "ok",
	ConnectRefused:   "connect_refused",
	Timeout:          "timeout",
	Reset:            "reset",
	TLS:              "tls",
	DNS:              "dns",
	HTTP4xx:          "http_4xx",
	HTTP5xx:          "http_5xx",
	CheckFailed:      "check_failed",
	LoginFailed:      "login_failed",
	SessionRejected:  "session_rejected",
	SessionLost:      "session_lost",
	Redirects:        "redirects",
	Canceled:         "canceled",
	HeaderTooLarge:   "header_too_large",
	CookieRejected:   "cookie_rejected",
	Unauthorized:     "unauthorized",
	TooManyOpenFiles: "too_many_open_files",
	ExtractFailed:    "extract_failed",
	DataExhausted:    "data_exhausted",
	Other:            "other",
}

// IsError reports whether a sample of kind k counts as a failed request.
// A lost session does not: it is a session event (the VU logs in again and
// retries the step, whose own sample says whether it failed), counted in
// errors_by_kind.session_lost and sessions.expired.
func (k Kind) IsError() bool { return k != OK && k != SessionLost }

// String returns the kind's name as results.json spells it, e.g. "timeout".
func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the kind String spells s, and whether there is one.
func ParseKind(s string) (Kind, bool) {
	for k, name := range kindNames {
		if name == s {
			return Kind(k), true
		}
	}
	return OK, false
}

// StatusKind classifies an HTTP status: HTTP4xx, HTTP5xx, or OK for anything
// else (checks decide whether a 3xx or an odd status is wrong).
func StatusKind(status int) Kind {
	switch {
	case status >= 400 && status < 500:
		return HTTP4xx
	case status >= 500 && status < 600:
		return HTTP5xx
	}
	return OK
}

// Classify maps an error from dialing, TLS or an http.Client to its kind; nil
// is OK. It looks through wrapping (*url.Error, *net.OpError, fmt.Errorf %w).
//
// The order matters where one error fits two kinds: a stopped run is Canceled
// whatever the request was doing; a DNS lookup that timed out is DNS; a
// certificate problem is TLS; "net/http: TLS handshake timeout" is Timeout.
func Classify(err error) Kind {
	if err == nil {
		return OK
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	msg := err.Error()
	// net/http's CheckRedirect returns an unexported error built by
	// fmt.Errorf, so its text is all there is to go on.
	if strings.Contains(msg, "stopped after") && strings.Contains(msg, "redirects") {
		return Redirects
	}
	// Likewise the transport's MaxResponseHeaderBytes error.
	if strings.Contains(msg, "server response headers exceeded") {
		return HeaderTooLarge
	}
	// The generator's own limit, not the server's fault: before DNS, as a
	// lookup can fail for want of a socket too.
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return TooManyOpenFiles
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return DNS
	}
	if isTLS(err) {
		return TLS
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return Timeout
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return Timeout
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return ConnectRefused
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || strings.Contains(msg, "server closed idle connection") {
		return Reset
	}
	// A TLS alert from the peer ("remote error: tls: handshake failure") is
	// an unexported type; its text carries the "tls: " prefix.
	if strings.Contains(msg, "tls: ") {
		return TLS
	}
	return Other
}

// isTLS reports whether err is a TLS record, alert or certificate error,
// or an HTTP server answering a TLS handshake.
func isTLS(err error) bool {
	var (
		rec     tls.RecordHeaderError
		verify  *tls.CertificateVerificationError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		roots   x509.SystemRootsError
	)
	return errors.As(err, &rec) || errors.As(err, &verify) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) ||
		errors.As(err, &roots) || errors.Is(err, http.ErrSchemeMismatch)
}

// Hint says what to do about errors of kind k, where there is something
// to say; "" otherwise.
func (k Kind) Hint() string {
	if k == TooManyOpenFiles {
		return "the generator ran out of file descriptors (one per connection): raise its open-file limit " +
			"(ulimit -n; LimitNOFILE= in a systemd unit; --ulimit nofile= for docker), or cap http.max_conns_per_host"
	}
	return ""
}

// KindHints returns a warning for each error kind of counts (by name, as
// in Results.ErrorsByKind) that happened and has a Hint.
func KindHints(counts map[string]int64) []string {
	var out []string
	for k := OK + 1; k < NumKinds; k++ {
		if n := counts[k.String()]; n > 0 && k.Hint() != "" {
			out = append(out, fmt.Sprintf("%s %d: %s", k, n, k.Hint()))
		}
	}
	return out
}
