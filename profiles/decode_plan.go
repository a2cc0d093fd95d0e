package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/pool"
	"github.com/sessionload/load/stats"
	"github.com/sessionload/load/vuser"
)

// The keys of each section, in the order messages list them.
var (
	planKeys = []string{"name", "target", "headers", "users", "data", "session", "scenario", "scenarios",
		"think", "timeout", "max_body", "http", "load", "warmup", "thresholds", "server", "outputs"}
	thinkKeys     = []string{"min", "max", "mean"}
	thresholdKeys = []string{"condition", "abort_on_fail", "grace"}
	httpKeys      = []string{"http2", "max_conns_per_host", "max_idle_conns_per_host", "dial_timeout",
		"tls_timeout", "response_header_timeout", "idle_timeout", "keep_alive", "compression",
		"insecure_skip_verify", "engine"}
	engines = []string{pool.EngineNetHTTP, pool.EngineFastHTTP}
)

// Defaults of the plan's top-level keys.
const (
	defaultTimeout      = 30 * time.Second
	defaultMaxBody      = 1 << 20
	defaultGracefulStop = 30 * time.Second
	defaultRetryLogin   = 5 * time.Second
)

// document parses data into its root node. A syntax error is one problem,
// at the mistake (see syntax): the parser cannot go on past it.
func (d *decoder) document(data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		// The parser is third-party code fed arbitrary bytes; a panic
		// there is a bad plan, not a crash of the run.
		if r := recover(); r != nil {
			d.at(1, 1, "", "cannot parse YAML: %v", r)
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}, true // an empty plan: report what is missing
	case err != nil:
		d.syntax(err)
		return nil, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntax(err)
		return nil, false
	default:
		d.errorf(&extra, "", "expected one YAML document, found a second one")
		return nil, false
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}, true
	}
	return doc.Content[0], true
}

// plan decodes the whole plan. Sections are decoded even after another
// failed, so every problem is reported; checks across sections run only on
// sections that decoded cleanly, so one mistake is not reported twice.
func (d *decoder) plan(root *yaml.Node) *Plan {
	base := &vuser.Script{
		Headers: http.Header{},
		Timeout: defaultTimeout,
		MaxBody: defaultMaxBody,
	}
	one := &Scenario{Weight: 1, Script: base, Users: noUsers{}}
	p := &Plan{
		File:      d.file,
		Name:      defaultName(d.file),
		Scenarios: []*Scenario{one},
		Load:      Load{GracefulStop: defaultGracefulStop},
	}
	login := d.enter() // the only scenario's scope, or the plan's login steps'

	m, ok := d.fields(root, "", planKeys)
	if !ok {
		return p
	}
	_, many := m["scenarios"]
	login.scenario = !many
	if many {
		d.require(root, "", m, "target")
		if _, has := m["scenario"]; has {
			d.exclusive(present(m, []string{"scenario", "scenarios"}), "",
				"scenario and scenarios exclude each other (scenario: is the steps of the plan's only kind of user, scenarios: a list of kinds, each with its own steps)")
		}
	} else if slices.Contains(d.unknown[resolve(root)], "scenarios") {
		d.require(root, "", m, "target") // a misspelt scenarios: the rest is unknown
	} else {
		d.require(root, "", m, "target", "scenario", "load")
	}

	if f, has := m["name"]; has {
		if v, ok := d.nonEmpty(f.val, "name"); ok {
			p.Name = v
		}
	}
	if f, has := m["target"]; has {
		base.Target = d.target(f.val)
	}
	var shared []vuser.Header // templated plan headers, copied into every step
	if f, has := m["headers"]; has {
		shared = d.planHeaders(f.val, base.Headers)
	}
	var users *usersSection
	if f, has := m["users"]; has {
		users = d.users(f.val)
		d.keepSecret()
		if users != nil {
			one.Users = users.users
		}
	}
	var data *dataDecl
	if f, has := m["data"]; has {
		data = d.data(f.val)
	}
	sess := d.session(m["session"], "session", base)
	if f, has := m["scenario"]; has && !many {
		base.Steps = d.steps(f.val, "scenario", base.Target)
	}
	if sess.ok && sess.steps != nil {
		base.Login.Steps = d.steps(sess.steps, "session.login_steps", base.Target)
	}
	withSharedAll(shared, base.Steps)
	withSharedAll(shared, base.Login.Steps)
	if f, has := m["think"]; has {
		if t, ok := d.think(f.val, "think"); ok {
			base.Think = t
		}
	}
	if f, has := m["timeout"]; has {
		if v, ok := d.duration(f.val, "timeout", false); ok {
			base.Timeout = v
		}
	}
	if f, has := m["max_body"]; has {
		if v, ok := d.positive(f.val, "max_body"); ok {
			base.MaxBody = v
		}
	}
	var scs []scenarioInfo
	scsOK := true
	if many {
		scs, scsOK = d.scenarios(m["scenarios"].val, base, shared, users, login)
		p.Scenarios = make([]*Scenario, len(scs))
		for i, si := range scs {
			p.Scenarios[i] = si.sc
		}
		d.cur = login
	}
	if f, has := m["http"]; has {
		p.Pool = d.httpOptions(f.val)
	}
	weighted := !many || slices.ContainsFunc(scs, func(si scenarioInfo) bool { return si.sc.Load == nil })
	loadOK := false
	if f, has := m["load"]; has {
		p.Load, loadOK = d.load(f.val, "load")
		if !weighted && scsOK && len(scs) > 0 {
			d.errorf(f.key, "load", "no scenario has a weight, so nothing would run on the plan's load (every scenario has a load of its own): remove it, or give a scenario a weight instead of its load")
			loadOK = false
		} else {
			loadOK = loadOK && d.override(&p.Load)
		}
	} else if many && weighted && !slices.Contains(d.unknown[resolve(root)], "load") {
		d.errorf(resolve(root), "", "missing required key \"load\" (the weighted scenarios share it: %s)", weightedNames(scs))
	}
	if many && !weighted && !d.over.IsZero() {
		d.add(located{0, 0, Problem{Msg: d.over.String() + ": applies to the plan's load, and every scenario of this plan has a load of its own"}})
	}
	if many && loadOK {
		d.checkPacing(scs, p.Load)
	}
	if f, has := m["warmup"]; has {
		if v, ok := d.duration(f.val, "warmup", false); ok {
			ref, refOK := p.Load, loadOK
			if !weighted {
				ref, refOK = longestLoad(scs)
			}
			if err := ref.checkWarmup(v); err != nil && refOK {
				d.errorf(f.val, "warmup", "%s is not less than the load's %s: the warm-up is the first part of the schedule", f.val.Value, ref.Total())
			} else {
				p.Warmup = v
			}
		}
	}
	if f, has := m["thresholds"]; has {
		p.Thresholds = d.thresholds(f.val)
	}
	if f, has := m["outputs"]; has {
		p.Outputs = d.outputs(f.val)
	}
	if f, has := m["server"]; has {
		p.Server = d.server(f.val)
	}

	d.checkVars()
	if loadOK || many {
		d.checkThinkPacing(p, scs, base, many)
	}
	d.checkData(p, data, m["users"].key != nil && users == nil || slices.ContainsFunc(scs, func(si scenarioInfo) bool { return si.usersBad }))
	d.checkThresholdEndpoints(p.Thresholds)
	if !many {
		if sess.ok && base.Login.Kind != vuser.LoginNone && m["users"].key == nil {
			d.errorf(sess.kindNode, "session.login", "login %s needs users (users.csv or users.template)", base.Login.Kind)
		}
		if users != nil && users.csvNode != nil && loadOK {
			if need, have := p.Load.MaxVUs(), users.users.Len(); need > have {
				d.errorf(users.csvNode, "users.csv", "load needs %d VUs%s but %s has %d rows", need, d.afterOverrides(), users.csvFile, have)
			}
		}
	} else if scsOK {
		d.checkScenarioUsers(scs, p.Load, loadOK, sess, m["users"].key != nil, users)
	}
	p.Source = redactAll(d.lines, d.secrets)
	return p
}

// defaultName is the plan file's base name without its extension.
func defaultName(file string) string {
	if file == "" {
		return "plan"
	}
	base := filepath.Base(file)
	if name := strings.TrimSuffix(base, filepath.Ext(base)); name != "" {
		return name
	}
	return base
}

func (d *decoder) target(n *yaml.Node) *url.URL {
	s, ok := d.str(n, "target")
	if !ok {
		return nil
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		d.errorf(resolve(n), "target", "expected an absolute http(s) URL like http://127.0.0.1:8080/app, got %q", s)
		return nil
	}
	if u.User != nil {
		d.errorf(resolve(n), "target", "credentials in the URL are not supported (use users and session.login)")
		return nil
	}
	if u.Fragment != "" || u.RawQuery != "" {
		d.errorf(resolve(n), "target", "expected a base URL without query or fragment, got %q", s)
		return nil
	}
	return u
}

// checkPath reports a step or login path that leaves the target's host:
// every request of a VU must carry its session to the one application.
func (d *decoder) checkPath(n *yaml.Node, path, raw string, target *url.URL) bool {
	rest, abs := "", false
	if i := strings.Index(raw, "://"); i > 0 && isScheme(raw[:i]) {
		if target != nil && !strings.EqualFold(raw[:i], target.Scheme) {
			d.errorf(n, path, "%q uses scheme %s, not the target's %s (write a path relative to the target)", raw, raw[:i], target.Scheme)
			return false
		}
		rest, abs = raw[i+3:], true
	} else if strings.HasPrefix(raw, "//") {
		rest, abs = raw[2:], true
	}
	if !abs {
		return true
	}
	host := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host = rest[:i]
	}
	if strings.Contains(host, "{{") {
		d.errorf(n, path, "%q: the host must not be a template (write a path relative to the target)", raw)
		return false
	}
	if target != nil && !strings.EqualFold(host, target.Host) {
		d.errorf(n, path, "%q points to host %s, not the target's %s (write a path relative to the target)", raw, host, target.Host)
		return false
	}
	return true
}

func isScheme(s string) bool {
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')
		if !ok {
			return false
		}
	}
	return s != ""
}

// planHeaders reads the plan's headers. Plain values go to the script's
// headers; values holding templates cannot live in an http.Header, so they
// are returned to be copied into every step (a step's own header wins).
func (d *decoder) planHeaders(n *yaml.Node, into http.Header) []vuser.Header {
	var shared []vuser.Header
	for _, h := range d.headers(n, "headers") {
		if strings.Contains(h.Value.Raw(), "{{") {
			shared = append(shared, h)
			continue
		}
		into.Add(h.Name, h.Value.Raw())
	}
	return shared
}

// withShared puts the plan's templated headers before a step's own, leaving
// out those the step sets itself.
func withShared(shared, own []vuser.Header) []vuser.Header {
	if len(shared) == 0 {
		return own
	}
	out := make([]vuser.Header, 0, len(shared)+len(own))
	for _, h := range shared {
		overridden := false
		for _, o := range own {
			overridden = overridden || strings.EqualFold(o.Name, h.Name)
		}
		if !overridden {
			out = append(out, h)
		}
	}
	return append(out, own...)
}

// headers reads a mapping of header names to template values, in order.
func (d *decoder) headers(n *yaml.Node, path string) []vuser.Header {
	ps, _ := d.pairs(n, path)
	var out []vuser.Header
	for _, p := range ps {
		name := p.key.Value
		if !isToken(name) {
			d.errorf(p.key, path, "%q is not a valid header name", name)
			continue
		}
		if t, ok := d.template(p.val, path+"."+name); ok {
			out = append(out, vuser.Header{Name: http.CanonicalHeaderKey(name), Value: t})
		}
	}
	return out
}

// think reads a fixed pause, a {min, max} range (uniform), or
// {mean, max} (exponential with that mean, capped at max if given).
func (d *decoder) think(n *yaml.Node, path string) (vuser.Think, bool) {
	if r := resolve(n); r.Kind != yaml.MappingNode {
		v, ok := d.duration(r, path, false)
		return vuser.Think{Min: v, Max: v}, ok
	}
	m, ok := d.fields(n, path, thinkKeys)
	if !ok {
		return vuser.Think{}, false
	}
	if e, has := m["mean"]; has {
		if x, has := m["min"]; has {
			d.errorf(x.key, path+".min", "not allowed with think.mean (mean gives exponential pauses; min/max alone give uniform ones)")
			return vuser.Think{}, false
		}
		mean, ok := d.duration(e.val, path+".mean", true)
		var hi time.Duration
		if x, has := m["max"]; has && ok {
			hi, ok = d.duration(x.val, path+".max", true)
		}
		return vuser.Think{Mean: mean, Max: hi}, ok
	}
	if !d.require(n, path, m, "min", "max") {
		return vuser.Think{}, false
	}
	lo, ok1 := d.duration(m["min"].val, path+".min", false)
	hi, ok2 := d.duration(m["max"].val, path+".max", false)
	if !ok1 || !ok2 {
		return vuser.Think{}, false
	}
	if lo > hi {
		d.errorf(resolve(m["max"].val), path+".max", "max %s is less than min %s", hi, lo)
		return vuser.Think{}, false
	}
	return vuser.Think{Min: lo, Max: hi}, true
}

func (d *decoder) httpOptions(n *yaml.Node) pool.Options {
	var o pool.Options
	m, ok := d.fields(n, "http", httpKeys)
	if !ok {
		return o
	}
	flag := func(key string, dst *bool) {
		if f, has := m[key]; has {
			*dst, _ = d.boolean(f.val, "http."+key)
		}
	}
	num := func(key string, dst *int) {
		if f, has := m[key]; has {
			*dst, _ = d.count(f.val, "http."+key)
		}
	}
	dur := func(key string, dst *time.Duration) {
		if f, has := m[key]; has {
			*dst, _ = d.duration(f.val, "http."+key, false)
		}
	}
	flag("http2", &o.HTTP2)
	num("max_conns_per_host", &o.MaxConnsPerHost)
	num("max_idle_conns_per_host", &o.MaxIdleConnsPerHost)
	dur("dial_timeout", &o.DialTimeout)
	dur("tls_timeout", &o.TLSHandshakeTimeout)
	dur("response_header_timeout", &o.ResponseHeaderTimeout)
	dur("idle_timeout", &o.IdleConnTimeout)
	dur("keep_alive", &o.KeepAlive)
	flag("compression", &o.Compression)
	flag("insecure_skip_verify", &o.InsecureSkipVerify)
	if f, has := m["engine"]; has {
		if e, ok := d.str(f.val, "http.engine"); ok {
			if slices.Contains(engines, e) || e == pool.EngineNetHTTPAlias {
				o.Engine = e
			} else {
				d.errorf(f.val, "http.engine", "expected one of %s, got %q%s", strings.Join(engines, ", "), e, didYouMean(e, engines))
			}
		}
	}
	return o
}

func (d *decoder) thresholds(n *yaml.Node) []Threshold {
	ps, _ := d.pairs(n, "thresholds")
	out := make([]Threshold, 0, len(ps))
	for _, p := range ps {
		if strings.TrimSpace(p.key.Value) == "" {
			d.errorf(p.key, "thresholds", "expected a metric name like \"catalog p99\"")
			continue
		}
		v := resolve(p.val)
		path := fmt.Sprintf("thresholds[%q]", p.key.Value)
		var abort bool
		var grace time.Duration
		if v.Kind == yaml.MappingNode {
			// {condition: "< 300ms", abort_on_fail: true, grace: 30s}
			m, ok := d.fields(v, path, thresholdKeys)
			good := ok && d.require(v, path, m, "condition")
			if e, has := m["abort_on_fail"]; has {
				abort, ok = d.boolean(e.val, path+".abort_on_fail")
				good = good && ok
			}
			if e, has := m["grace"]; has {
				grace, ok = d.duration(e.val, path+".grace", false)
				good = good && ok
			}
			if !good {
				continue
			}
			v = resolve(m["condition"].val)
		}
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" || strings.TrimSpace(v.Value) == "" {
			d.errorf(v, path, "expected a condition string like \"< 300ms\" (or {condition, abort_on_fail, grace}), got %s", got(v))
			continue
		}
		rule, err := stats.ParseThreshold(p.key.Value, v.Value)
		if err != nil {
			// Point at the problem inside the metric or the condition.
			n, te := v, (*stats.ThresholdError)(nil)
			col := 1
			if errors.As(err, &te) {
				col = te.Col
				if te.InMetric {
					n = p.key
				}
			}
			line, c := d.position(n, col)
			d.at(line, c, fmt.Sprintf("thresholds[%q]", p.key.Value), "%v", err)
			continue
		}
		out = append(out, Threshold{Metric: p.key.Value, Condition: v.Value, Line: p.key.Line, Rule: rule, node: p.key, AbortOnFail: abort, Grace: grace})
	}
	return out
}

// checkThresholdEndpoints reports thresholds on endpoints the plan never
// requests: a typo there would otherwise fail only after the whole run.
func (d *decoder) checkThresholdEndpoints(ts []Threshold) {
	if len(d.names) == 0 {
		return // no scenario to check against; that is reported already
	}
	for _, t := range ts {
		if msg := d.unknownMetric(t.Rule.Scenario(), t.Rule.Group(), t.Rule.Endpoint()); msg != "" {
			d.errorf(t.node, fmt.Sprintf("thresholds[%q]", t.Metric), "%s", msg)
		}
	}
}

// unknownMetric says what a threshold names that the plan does not have:
// a scenario, a group or an endpoint (in the scenario named, if one is);
// "" when the plan has each ("" names nothing).
func (d *decoder) unknownMetric(scenario, group, endpoint string) string {
	scopes := d.scopes
	in := ""
	if scenario != "" {
		i := slices.IndexFunc(d.scopes, func(s *scope) bool { return s.scenario && s.name == scenario })
		if i < 0 {
			var names []string
			for _, s := range d.scopes {
				if s.scenario && s.name != "" {
					names = append(names, s.name)
				}
			}
			return fmt.Sprintf("no scenario is named %q%s", scenario, didYouMean(scenario, names))
		}
		scopes, in = d.scopes[i:i+1], " in scenario "+scenario
	}
	all := func(names func(*scope) []stepName) []string {
		var out []string
		for _, s := range scopes {
			for _, sc := range []*scope{s, s.login} {
				if sc != nil {
					for _, n := range names(sc) {
						out = append(out, n.name)
					}
				}
			}
		}
		return out
	}
	has := func(names func(*scope) []stepName, name string) bool { return slices.Contains(all(names), name) }
	steps := func(s *scope) []stepName { return s.names }
	groups := func(s *scope) []stepName { return s.groups }
	if group != "" && !has(groups, group) {
		return fmt.Sprintf("no group is named %q%s%s", group, in, didYouMean(group, all(groups)))
	}
	switch endpoint {
	case "", stats.TotalName, vuser.EndpointLoginPage, vuser.EndpointLogin, vuser.EndpointLogout:
		return ""
	}
	if has(steps, endpoint) {
		return ""
	}
	if group == "" && has(groups, endpoint) {
		return fmt.Sprintf("no step is named %q%s: it is a group, write \"group %s STAT\"", endpoint, in, endpoint)
	}
	return fmt.Sprintf("no step is named %q%s%s", endpoint, in, didYouMean(endpoint, all(steps)))
}

// redactAll returns the plan's text with every password scalar of pws
// replaced by *****.
func redactAll(lines []string, pws []*yaml.Node) string {
	pws = slices.Clone(pws)
	// From the last: redacting a block scalar drops lines after it.
	slices.SortFunc(pws, func(a, b *yaml.Node) int { return b.Line - a.Line })
	out := lines
	for _, pw := range pws {
		out = strings.Split(redact(out, pw), "\n")
	}
	return strings.Join(out, "\n")
}

// redact returns the plan's text with the password scalar pw replaced by
// *****, so that reports can carry the plan without the secret.
func redact(lines []string, pw *yaml.Node) string {
	out := append([]string(nil), lines...)
	i := pw.Line - 1
	if i < 0 || i >= len(out) {
		return strings.Join(out, "\n")
	}
	src := []rune(out[i])
	start := pw.Column - 1
	if start < 0 || start > len(src) {
		return strings.Join(out, "\n")
	}
	end := -1 // rune index after the scalar, when it sits on this line
	switch pw.Style {
	case 0:
		if !strings.Contains(pw.Value, "\n") && strings.HasPrefix(string(src[start:]), pw.Value) {
			end = start + len([]rune(pw.Value))
		}
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		c, ok := quotedColumn(src, pw.Column, len([]rune(pw.Value)), pw.Style == yaml.DoubleQuotedStyle)
		if ok && c-1 < len(src) && src[c-1] == src[start] { // c is the closing quote
			out[i] = string(src[:start+1]) + "*****" + string(src[c-1:])
			return strings.Join(out, "\n")
		}
	}
	if end >= 0 {
		out[i] = string(src[:start]) + "*****" + string(src[end:])
		return strings.Join(out, "\n")
	}
	// A block or multi-line scalar: blank the rest of the line and drop
	// the lines indented deeper than the key's line.
	out[i] = string(src[:start]) + "*****"
	indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
	j := i + 1
	for j < len(out) {
		l := out[j]
		if strings.TrimSpace(l) != "" && len(l)-len(strings.TrimLeft(l, " ")) <= indent {
			break
		}
		j++
	}
	return strings.Join(append(out[:i+1], out[j:]...), "\n")
}
