package vuser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
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
	groups := v.groupFrames()
	var due time.Time
	it := &v.run.it
	if it.pc >= 0 { // in an iteration: zero unless scheduled
		due = it.next
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
			v.noteLast(&r, groups)
			v.sessionLost()
			if retry || !v.env.session.Relogin {
				return nil, ErrSessionLost
			}
			v.env.sessions.Relogin()
			if !v.LoginRetry(ctx) {
				return nil, ErrSessionLost
			}
			if !due.IsZero() {
				due = time.Now() // the retry is measured from its own send
			}
			continue
		}
		v.commit(&r)
		v.noteLast(&r, groups)
		if it.pc >= 0 {
			it.sent(r.end)
		}
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
	d := v.thinkTime(t)
	if it := &v.run.it; it.pc >= 0 {
		it.thought(d)
	}
	if v.sleepOr(d, nil, ctx.Done()) {
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

// Group runs fn as a transaction called name, as a Group step is: the
// requests fn sends record under endpoints of the group, and the group
// records one sample (its first request's start to its last response's
// end, think included; the sum of its requests' service times; the
// first failed request's kind) unless fn sent none, or returned an
// error while its requests were all fine (it was cut short). A group
// inside another is named "outer/inner". Group returns fn's error.
func (v *VU) Group(name string, fn func() error) error {
	path := name
	if n := len(v.groups); n > 0 {
		path = v.groups[n-1].path + "/" + name
	}
	id := v.cached(&v.env.goGroups, "\x00", path, func() int { return v.env.rec.Group(v.env.sc, path) })
	v.groups = append(v.groups, goGroup{path: path})
	v.gframes = append(v.gframes, frame{group: id + 1})
	err := fn()
	n := len(v.groups) - 1
	f := v.gframes[n]
	v.groups, v.gframes = v.groups[:n], v.gframes[:n]
	if f.seen && (err == nil || f.kind != stats.OK) {
		v.recordGroup(&f)
	}
	return err
}

// goGroup is a group a Go scenario is inside (VU.Group).
type goGroup struct{ path string }

// groupFrames are the frames of the Go groups the VU is in (nil: none).
func (v *VU) groupFrames() []frame {
	if len(v.gframes) == 0 {
		return nil
	}
	return v.gframes
}

// noteLast keeps what groups and If need of r, the VU's last sample, and
// adds it to the groups open in frames.
func (v *VU) noteLast(r *result, frames []frame) {
	v.last = lastSample{intended: r.intended, start: r.start, end: r.end, kind: r.kind}
	v.lastStatus = r.status
	if frames != nil {
		v.grouped(frames)
	}
}

// endpoint is the id of the scenario's endpoint name (inside the Go
// group the VU is in, if any), registered the first time any VU names
// it; each VU caches the ids it has used, so a request takes no lock and
// allocates nothing for its name.
func (v *VU) endpoint(name string) int {
	group := ""
	if n := len(v.groups); n > 0 {
		group = v.groups[n-1].path
	}
	return v.cached(&v.env.goEndpoints, group, name, func() int { return v.env.rec.EndpointIn(v.env.sc, group, name) })
}

// cached is the id of name in scope (a group path, or "\x00" for the
// groups' own ids) from the VU's cache, else from the Env's shared one
// (m), else registered by reg.
func (v *VU) cached(m *sync.Map, scope, name string, reg func() int) int {
	if id, ok := v.endpoints[scope][name]; ok {
		return id
	}
	key := scope + "\x00" + name
	id, ok := m.Load(key)
	if !ok {
		id, _ = m.LoadOrStore(key, reg())
	}
	if v.endpoints == nil {
		v.endpoints = map[string]map[string]int{}
	}
	if v.endpoints[scope] == nil {
		v.endpoints[scope] = map[string]int{}
	}
	v.endpoints[scope][name] = id.(int)
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
