package vuser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sessionload/load/stats"
	"github.com/tidwall/gjson"
)

// Scenarios written in Go (Script.Func) send their requests through the
// VU's methods below. Each request is recorded under the endpoint its
// caller names, goes through the VU's exchange (its own cookie jar, the
// run's admission gate, Script.Timeout, redirects as a browser follows
// them) and is judged as a step is: a lost session makes the VU log in
// again (through the back-off, as Session says) and send the request once
// more. A Go scenario runs on the VU's goroutine and holds it while it
// thinks (Think), unlike steps, whose VUs hold none in long thinks.

// Request is one request a Go scenario sends (VU.Do).
type Request struct {
	// Method is the HTTP method; "" is GET.
	Method string
	// Path is resolved against Script.Target ("/api/me"), or is an
	// absolute http:// or https:// URL.
	Path string
	// Header is added to (and overrides) the script's headers; it is
	// only read.
	Header http.Header
	// Body is sent as is (set Content-Type in Header); nil for none.
	Body []byte
	// Check, if set, is what the response must satisfy (its templates
	// rendered with the VU's data); a failure records the sample as
	// check_failed and Do returns the *CheckError with the response.
	// Nil records the sample by its status alone (a 4xx or 5xx is an
	// error, with no error returned).
	Check *Check
	// Extract fills the VU's variables from the response, as a step's
	// extractors do; one that finds nothing (not Optional) records the
	// sample as extract_failed and Do returns the *ExtractError.
	Extract []Extractor
}

// ErrSessionLost is what Do returns when the server dropped the VU's
// session and no new one could be had (Session.Relogin off, the login
// failed, or the retry lost it again). The iteration should end.
var ErrSessionLost = errors.New("vuser: session lost")

// errAborted is a think cut short by the VU's Abort signal.
var errAborted = errors.New("vuser: aborted")

// Do sends req, records it under endpoint name of the scenario, and
// returns the response. The error is nil for any HTTP response unless
// req's Check fails (*CheckError) or an extractor finds nothing
// (*ExtractError), both with the response; else it is the transport's
// error (nil response), or ErrSessionLost. The response's Body is the
// VU's buffer: valid until the VU's next request, Think, or the end of
// the iteration (copy it to keep it).
func (v *VU) Do(ctx context.Context, name string, req Request) (*Response, error) {
	if k := v.env.script.Login.Kind; !v.loggedIn && k != LoginNone && k != "" {
		return nil, ErrSessionLost // lost earlier in the iteration, for good
	}
	id := v.endpoint(name)
	var due time.Time
	if it := &v.run.it; it.pc >= 0 && !it.intended.IsZero() { // in a scheduled iteration
		due = time.Now().Add(-it.late)
	}
	rawURL := req.Path
	if !strings.HasPrefix(rawURL, "http://") && !strings.HasPrefix(rawURL, "https://") {
		if !strings.HasPrefix(rawURL, "/") {
			rawURL = "/" + rawURL
		}
		rawURL = v.env.base + rawURL
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	for retry := false; ; retry = true {
		var r result
		v.do(ctx, &r, id, due, method, rawURL, req.Header, req.Body)
		err := v.judgeResponse(&r, req.Check, req.Extract, name)
		if r.kind == stats.SessionLost {
			if retry || !v.proven {
				r.kind = stats.Unauthorized
			}
			v.commit(&r)
			v.lastStatus = r.status
			v.sessionLost()
			if retry || !v.env.session.Relogin {
				return nil, ErrSessionLost
			}
			v.env.sessions.Relogin()
			if !v.LoginRetry(ctx) {
				return nil, ErrSessionLost
			}
			continue
		}
		v.commit(&r)
		v.lastStatus = r.status
		if r.err != nil {
			return nil, r.err
		}
		if r.kind == stats.SessionRejected {
			return nil, fmt.Errorf("%s: %w", name, errRejected)
		}
		if err == errStepFailed {
			err = nil
		}
		return v.response(&r), err
	}
}

// Get is Do of a GET of path.
func (v *VU) Get(ctx context.Context, name, path string) (*Response, error) {
	return v.Do(ctx, name, Request{Method: http.MethodGet, Path: path})
}

// PostForm is Do of a POST of form (application/x-www-form-urlencoded)
// to path.
func (v *VU) PostForm(ctx context.Context, name, path string, form url.Values) (*Response, error) {
	return v.Do(ctx, name, Request{
		Method: http.MethodPost, Path: path, Body: []byte(form.Encode()),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
	})
}

// PostJSON is Do of a POST of body encoded as JSON (encoding/json) to
// path, with Accept: application/json.
func (v *VU) PostJSON(ctx context.Context, name, path string, body any) (*Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return v.Do(ctx, name, Request{
		Method: http.MethodPost, Path: path, Body: b,
		Header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}},
	})
}

// Think pauses as Script.Think says, holding the goroutine. It returns
// ctx's error if ctx ends first, or an error if the VU is aborted
// meanwhile; the iteration should then end.
func (v *VU) Think(ctx context.Context) error {
	t := activeThink(&v.env.script.Think)
	if t == nil {
		return ctx.Err()
	}
	if v.sleepOr(v.thinkTime(t), nil, ctx.Done()) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errAborted
}

// Data is the VU's template data: its identity, its variables and lists,
// the data rows of its iteration. Go code may read and set them; steps'
// templates and checks (Request.Check) see them.
func (v *VU) Data() *Data { return &v.data }

// JSON is the value at path (as an extractor's JSON path: "$.user", or
// gjson syntax) in the body: a string as is, any other value as its JSON
// text; false when there is none.
func (r *Response) JSON(path string) (string, bool) {
	p, err := gjsonPath(path)
	if err != nil {
		return "", false
	}
	res := gjson.GetBytes(r.Body, p)
	if !res.Exists() {
		return "", false
	}
	return jsonText(res), true
}

// endpoint is the id of the scenario's endpoint name, registered the
// first time any VU names it; each VU caches the ids it has used, so a
// request takes no lock and allocates nothing for its name.
func (v *VU) endpoint(name string) int {
	if id, ok := v.endpoints[name]; ok {
		return id
	}
	id, ok := v.env.goEndpoints.Load(name)
	if !ok {
		id, _ = v.env.goEndpoints.LoadOrStore(name, v.env.rec.EndpointIn(v.env.sc, "", name))
	}
	if v.endpoints == nil {
		v.endpoints = map[string]int{}
	}
	v.endpoints[name] = id.(int)
	return id.(int)
}

// goIteration runs one iteration of a Go scenario and counts it if the
// function returns nil (and the run goes on).
func (v *VU) goIteration(ctx context.Context, it *iteration) {
	err := v.env.script.Func(ctx, v)
	v.release()
	it.pc = -1
	if err != nil || ctx.Err() != nil {
		if err != nil && v.debug != nil {
			v.debug.note("iteration ended: %v", err)
		}
		return
	}
	v.env.rec.IterationIn(v.id, v.env.sc)
	v.data.Iteration++
}
