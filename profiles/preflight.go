package profiles

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
)

// preflightTimeout bounds the check of a plan without a timeout.
const preflightTimeout = 10 * time.Second

// UnreachableError is a target that gave no HTTP response to the check
// before the load (CheckTarget): nothing would be tested.
type UnreachableError struct {
	URL  string
	Kind stats.Kind // how it failed: connect_refused, timeout, dns, tls, ...
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("target unreachable: %s: %s: %v", e.URL, e.Kind, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// CheckTarget sends one request to the plan's target, with the plan's
// timeout (10 s without one) over the plan's transport settings, before
// any load: any HTTP response, whatever its status, means the target can
// be tested; no response is an *UnreachableError with its cause. The
// request is an OPTIONS, which servlet containers answer without running
// the app or creating a session, so the server's session figures stay the
// run's own.
func CheckTarget(ctx context.Context, p *Plan) error {
	u := p.Scenarios[0].Script.Target.String()
	timeout := p.Scenarios[0].Script.Timeout
	if timeout <= 0 {
		timeout = preflightTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pl := pool.New(p.Pool)
	defer pl.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, u, nil)
	if err != nil {
		return fmt.Errorf("check the target %s: %w", u, err)
	}
	for k, v := range p.Scenarios[0].Script.Headers {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: pl.Transport(), CheckRedirect: noRedirect}).Do(req)
	if err != nil {
		return &UnreachableError{URL: u, Kind: stats.Classify(err), Err: err}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.Body.Close()
}

// noRedirect keeps the check to one request: a redirect is an answer.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
