package record

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sessionload/load/stats"
)

// Options tune a conversion.
type Options struct {
	// Name is the plan's name (default "recorded").
	Name string
	// ThinkRange writes one plan-wide think {min, max} from the recorded
	// gaps; otherwise each step but the last gets its own gap as its
	// think (a step's think: key).
	ThinkRange bool
	// Exclude are extra regular expressions on the URL (path and query);
	// a request matching one is left out, like a static resource.
	Exclude []*regexp.Regexp
	// UsersCSV is the users file the plan names (default "users.csv").
	UsersCSV string
}

// Result is a converted recording.
type Result struct {
	// Plan is the plan's YAML text, commented.
	Plan string
	// UsersHeader is the header line of the users CSV the plan reads.
	UsersHeader string
	// Login is the detected login preset ("none" when none was found).
	Login string
	// Cookie is the detected session cookie's name ("" when none).
	Cookie string
	// Steps are the scenario's step names, in order.
	Steps []string
	// Recognised lists what the conversion understood, one line each.
	Recognised []string
	// Literal lists what was left as recorded, for the user to check.
	Literal []string
	// Warnings are about the recording itself (it holds a password...).
	Warnings []string
}

// staticExt are file types that a browser loads for a page, not the app's work.
var staticExt = regexp.MustCompile(`(?i)\.(png|jpe?g|gif|svg|ico|webp|avif|bmp|css|js|mjs|map|woff2?|ttf|otf|eot|mp4|webm|mp3|wav)$`)

var staticTypes = []string{"image", "stylesheet", "script", "font", "media", "manifest", "ping", "websocket", "other"}

// static reports whether e is a static resource.
func static(e *Entry, exclude []*regexp.Regexp) bool {
	u, err := url.Parse(e.Request.URL)
	if err != nil {
		return true
	}
	if staticExt.MatchString(u.Path) || slices.Contains(staticTypes, strings.ToLower(e.ResourceType)) && e.ResourceType != "other" {
		return true
	}
	mt := strings.ToLower(e.Response.MimeType)
	for _, p := range []string{"image/", "font/", "text/css", "javascript", "video/", "audio/"} {
		if strings.Contains(mt, p) {
			return true
		}
	}
	for _, re := range exclude {
		if re.MatchString(u.RequestURI()) {
			return true
		}
	}
	return false
}

// Convert decodes the HAR in r (named file) and converts it to a plan.
func Convert(file string, r io.Reader, o Options) (*Result, error) {
	res := &Result{}
	var origin string
	excluded := map[string]int{}
	thirdParty := map[string]int{}
	entries, err := Decode(file, r, func(e *Entry) bool {
		u, err := url.Parse(e.Request.URL)
		if err != nil {
			return false
		}
		if static(e, o.Exclude) {
			excluded["static"]++
			return false
		}
		switch e.Request.Method {
		case "OPTIONS", "TRACE", "CONNECT":
			// CORS preflights and proxy tunnels are the browser's, not the
			// user's, and no plan step sends them.
			excluded["browser"]++
			return false
		}
		host := u.Scheme + "://" + u.Host
		if origin == "" {
			origin = host
		}
		if host != origin {
			thirdParty[u.Host]++
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, &Error{File: file, Offset: -1, Msg: "no requests to an app are left once static resources and excluded URLs are left out; expected at least one page or API request"}
	}
	c := &converter{opts: o, res: res, entries: entries, origin: origin, vars: map[string]bool{}}
	if n := excluded["browser"]; n > 0 {
		res.Recognised = append(res.Recognised, fmt.Sprintf("left out %d requests the browser makes on its own (OPTIONS preflights, CONNECT, TRACE)", n))
	}
	if n := excluded["static"]; n > 0 {
		res.Recognised = append(res.Recognised, fmt.Sprintf("left out %d static resources (images, CSS, JS, fonts, excluded URLs)", n))
	}
	hosts := make([]string, 0, len(thirdParty))
	for h := range thirdParty {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		res.Recognised = append(res.Recognised, fmt.Sprintf("left out %d requests to the third-party host %s", thirdParty[h], h))
	}
	if err := c.convert(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return res, nil
}

type converter struct {
	opts    Options
	res     *Result
	entries []*Entry
	origin  string

	login           string
	loginPath       string
	protectedPath   string
	userField       string
	passField       string
	csrfField       string
	tokenPath       string
	token           string
	user, password  string
	logoutPath      string
	skipped         map[int]bool
	secrets         []string
	vars            map[string]bool
	steps           []*step
	userAgent       string
	extractsByEntry map[int][]extract
	known           map[string]string // correlated value → its variable
	thinks          []time.Duration
}

type extract struct{ name, kind, expr string }

type step struct {
	entry   int
	name    string
	method  string
	path    string
	headers []NV
	form    []NV
	json    string
	body    string
	status  int
	think   time.Duration
	count   int
	ids     []string
	extract []extract
}

func (c *converter) convert() error {
	c.skipped = map[int]bool{}
	c.extractsByEntry = map[int][]extract{}
	c.known = map[string]string{}
	c.collectSecrets()
	c.detectLogin()
	c.detectCookie()
	c.detectLogout()
	c.buildSteps()
	if len(c.steps) == 0 {
		return fmt.Errorf("the recording has only the login: expected at least one request after it to make a scenario")
	}
	c.correlate()
	c.mergeSamePage()
	c.thinkTimes()
	text := c.emit()
	for _, s := range c.secrets {
		if len(s) >= 4 && strings.Contains(text, s) {
			return fmt.Errorf("internal error: a recorded secret (hash %s) would reach the plan; nothing written", stats.HashSecret(s))
		}
	}
	c.res.Plan = text
	if c.password != "" {
		c.res.Warnings = append(c.res.Warnings, fmt.Sprintf("the recording holds the password of %q (hash %s) in clear text, and session cookies: delete the HAR file once the plan works",
			c.user, stats.HashSecret(c.password)))
	}
	return nil
}

// collectSecrets gathers every cookie value and Authorization credential
// the recording holds, to keep them out of the plan.
func (c *converter) collectSecrets() {
	for _, e := range c.entries {
		for _, h := range e.Request.Headers {
			switch strings.ToLower(h.Name) {
			case "cookie":
				for _, kv := range strings.Split(h.Value, ";") {
					if _, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
						c.secrets = append(c.secrets, v)
					}
				}
			case "authorization":
				_, v, _ := strings.Cut(h.Value, " ")
				c.secrets = append(c.secrets, h.Value, v)
			}
		}
		for _, h := range e.Response.Headers {
			if strings.EqualFold(h.Name, "set-cookie") {
				nv, _, _ := strings.Cut(h.Value, ";")
				if _, v, ok := strings.Cut(nv, "="); ok {
					c.secrets = append(c.secrets, v)
				}
			}
		}
	}
}

func header(hs []NV, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// pathParam is a session id in the URL (Tomcat's URL rewriting, as on
// the first login form before the browser's cookie is known): the jar
// carries the session, and the id must not reach the plan.
var pathParam = regexp.MustCompile(`(?i);(jsessionid|sessionid|sid)=[^/?#]*`)

func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	p := pathParam.ReplaceAllString(u.RequestURI(), "")
	// A path that starts with "//" would read as another host in the plan
	// (a scheme-relative URL); the server sees the same path with one.
	return "/" + strings.TrimLeft(p, "/")
}

func isJSON(mime, body string) bool {
	return strings.Contains(strings.ToLower(mime), "json") || strings.HasPrefix(strings.TrimSpace(body), "{")
}

func isForm(e *Entry) bool {
	return strings.Contains(strings.ToLower(e.Request.MimeType), "x-www-form-urlencoded") ||
		strings.Contains(strings.ToLower(header(e.Request.Headers, "content-type")), "x-www-form-urlencoded")
}

// formParams returns a form POST's fields in order.
func formParams(e *Entry) []NV {
	if e.Request.Body != "" {
		if vs, err := url.ParseQuery(e.Request.Body); err == nil {
			var out []NV
			for _, kv := range strings.Split(e.Request.Body, "&") {
				k, _, _ := strings.Cut(kv, "=")
				k, _ = url.QueryUnescape(k)
				if v, ok := vs[k]; ok && !slices.ContainsFunc(out, func(n NV) bool { return n.Name == k }) {
					out = append(out, NV{k, v[0]})
				}
			}
			return out
		}
	}
	return e.Request.Params
}

var passwordName = regexp.MustCompile(`(?i)pass|pwd`)
var userName = regexp.MustCompile(`(?i)user|login|email|name|account`)

// hiddenInput matches an HTML input, to read hidden fields' names and values.
var inputTag = regexp.MustCompile(`(?is)<input\b[^>]*>`)
var attr = regexp.MustCompile(`(?is)\b(name|value|type)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))`)

// hiddenInputs returns the hidden inputs of an HTML page, name → value.
func hiddenInputs(body string) map[string]string {
	out := map[string]string{}
	for _, tag := range inputTag.FindAllString(body, -1) {
		a := map[string]string{}
		for _, m := range attr.FindAllStringSubmatch(tag, -1) {
			a[strings.ToLower(m[1])] = html.UnescapeString(m[3] + m[4] + m[5])
		}
		if strings.EqualFold(a["type"], "hidden") && a["name"] != "" {
			out[a["name"]] = a["value"]
		}
	}
	return out
}

func isHTML(e *Entry) bool {
	return strings.Contains(strings.ToLower(e.Response.MimeType), "html") || strings.HasPrefix(strings.TrimSpace(e.Response.Body), "<")
}

// detectLogin finds the login exchange and the preset it matches.
func (c *converter) detectLogin() {
	c.login = "none"
	for i, e := range c.entries {
		if e.Request.Method != "POST" {
			continue
		}
		p := pathOf(e.Request.URL)
		switch {
		case strings.HasSuffix(strings.SplitN(p, "?", 2)[0], "/j_security_check"):
			c.tomcatLogin(i)
		case isForm(e):
			c.springLogin(i)
		case isJSON(e.Request.MimeType, e.Request.Body):
			c.jsonLogin(i)
		}
		if c.login != "none" {
			break
		}
	}
	if c.login == "none" {
		c.res.Literal = append(c.res.Literal, "no login recognised (no j_security_check POST, no form POST with a CSRF field from the page before, no JSON POST answered with a Bearer token): the plan has login: none")
		return
	}
	if c.password != "" {
		c.secrets = append(c.secrets, c.password)
	}
	c.res.Login = c.login
}

func (c *converter) credentials(fields []NV) bool {
	for _, f := range fields {
		if c.passField == "" && passwordName.MatchString(f.Name) {
			c.passField, c.password = f.Name, f.Value
		}
	}
	for _, f := range fields {
		if c.userField == "" && f.Name != c.passField && f.Name != c.csrfField && userName.MatchString(f.Name) {
			c.userField, c.user = f.Name, f.Value
		}
	}
	return c.passField != "" && c.userField != ""
}

func (c *converter) tomcatLogin(i int) {
	e := c.entries[i]
	if !c.credentials(formParams(e)) {
		c.userField, c.passField = "", ""
		return
	}
	c.login = "tomcat-form"
	c.skipped[i] = true
	// The protected page asked for before the form is what Tomcat
	// redirects back to; that first GET only showed the login form.
	for j := i - 1; j >= 0; j-- {
		if p := c.entries[j]; p.Request.Method == "GET" && strings.Contains(p.Response.Body, "j_security_check") {
			c.protectedPath = pathOf(p.Request.URL)
			c.skipped[j] = true
			break
		}
	}
	if loc := header(e.Response.Headers, "location"); c.protectedPath == "" && loc != "" {
		c.protectedPath = pathOf(c.resolve(e.Request.URL, loc))
	}
	if c.protectedPath == "" {
		c.login, c.userField, c.passField = "none", "", ""
		c.res.Literal = append(c.res.Literal, "a POST to j_security_check was found, but neither the protected page before it nor a redirect after it: login left as none")
		return
	}
	c.res.Recognised = append(c.res.Recognised, fmt.Sprintf("login: tomcat-form (POST %s, fields %s/%s, protected page %s)", pathOf(e.Request.URL), c.userField, c.passField, c.protectedPath))
}

func (c *converter) resolve(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := b.Parse(ref)
	if err != nil {
		return ref
	}
	return r.String()
}

func (c *converter) springLogin(i int) {
	e := c.entries[i]
	var page = -1
	for j := i - 1; j >= 0; j-- {
		if c.entries[j].Request.Method == "GET" && isHTML(c.entries[j]) {
			page = j
			break
		}
	}
	if page < 0 {
		return
	}
	hidden := hiddenInputs(c.entries[page].Response.Body)
	fields := formParams(e)
	for _, f := range fields {
		if v, ok := hidden[f.Name]; ok && v == f.Value && len(v) >= 8 {
			c.csrfField = f.Name
			c.secrets = append(c.secrets, v)
		}
	}
	if c.csrfField == "" || !c.credentials(fields) {
		c.csrfField, c.userField, c.passField = "", "", ""
		return
	}
	c.login = "spring-form"
	c.loginPath = pathOf(e.Request.URL)
	c.skipped[i] = true
	if pathOf(c.entries[page].Request.URL) == c.loginPath {
		c.skipped[page] = true
	} else {
		c.res.Literal = append(c.res.Literal, fmt.Sprintf("the login form was read from %s but posted to %s; spring-form GETs and POSTs login_path: check it", pathOf(c.entries[page].Request.URL), c.loginPath))
	}
	// The redirect after the login is the preset's to follow or not.
	if loc := header(e.Response.Headers, "location"); loc != "" && i+1 < len(c.entries) && c.entries[i+1].Request.URL == c.resolve(e.Request.URL, loc) {
		c.skipped[i+1] = true
	}
	c.res.Recognised = append(c.res.Recognised, fmt.Sprintf("login: spring-form (GET and POST %s, fields %s/%s, CSRF field %s from the hidden input of the page)", c.loginPath, c.userField, c.passField, c.csrfField))
}

func (c *converter) jsonLogin(i int) {
	e := c.entries[i]
	var body map[string]any
	if json.Unmarshal([]byte(e.Request.Body), &body) != nil {
		return
	}
	var fields []NV
	for k, v := range body {
		if s, ok := v.(string); ok {
			fields = append(fields, NV{k, s})
		}
	}
	sort.Slice(fields, func(a, b int) bool { return fields[a].Name < fields[b].Name })
	var resp any
	if json.Unmarshal([]byte(e.Response.Body), &resp) != nil {
		return
	}
	// The token is a response string that a later request sends as
	// Authorization: Bearer.
	bearers := map[string]bool{}
	for _, l := range c.entries[i+1:] {
		if a := header(l.Request.Headers, "authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			bearers[a[7:]] = true
		}
	}
	path, tok := "", ""
	walk(resp, "", func(p string, v any) bool {
		if s, ok := v.(string); ok && bearers[s] {
			path, tok = p, s
			return true
		}
		return false
	})
	if path == "" || !c.credentials(fields) {
		c.userField, c.passField = "", ""
		return
	}
	c.login, c.loginPath, c.token = "json-token", pathOf(e.Request.URL), tok
	c.tokenPath = strings.TrimPrefix(strings.NewReplacer("[", ".", "]", "").Replace(path), "$.")
	c.secrets = append(c.secrets, tok)
	c.skipped[i] = true
	c.res.Recognised = append(c.res.Recognised, fmt.Sprintf("login: json-token (POST %s, fields %s/%s, token at %s sent as Authorization: Bearer, hash %s)",
		c.loginPath, c.userField, c.passField, c.tokenPath, stats.HashSecret(tok)))
}

// walk calls f on every leaf of a decoded JSON value with its JSON path
// ($.a.b[0]) until f returns true.
func walk(v any, path string, f func(string, any) bool) bool {
	if path == "" {
		path = "$"
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := path + "." + k
			if !plainKey.MatchString(k) {
				p = path + "['" + k + "']"
			}
			if walk(x[k], p, f) {
				return true
			}
		}
	case []any:
		for i, e := range x {
			if walk(e, fmt.Sprintf("%s[%d]", path, i), f) {
				return true
			}
		}
	default:
		return f(path, v)
	}
	return false
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// detectCookie names the session cookie: one the app set and later
// requests sent, preferring the usual session names.
func (c *converter) detectCookie() {
	set := map[string]bool{}
	var sent []string
	for _, e := range c.entries {
		for _, h := range e.Request.Headers {
			if strings.EqualFold(h.Name, "cookie") {
				for _, kv := range strings.Split(h.Value, ";") {
					if k, _, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && set[k] && !slices.Contains(sent, k) {
						sent = append(sent, k)
					}
				}
			}
		}
		for _, h := range e.Response.Headers {
			if strings.EqualFold(h.Name, "set-cookie") {
				if k, _, ok := strings.Cut(h.Value, "="); ok {
					set[strings.TrimSpace(k)] = true
				}
			}
		}
	}
	if len(sent) == 0 {
		if c.login != "json-token" {
			c.res.Literal = append(c.res.Literal, "no session cookie: no cookie the app set was sent back")
		}
		return
	}
	best := sent[0]
	for _, k := range sent {
		if regexp.MustCompile(`(?i)^(jsessionid|session|sessionid|phpsessid|connect\.sid)$|sess`).MatchString(k) {
			best = k
			break
		}
	}
	c.res.Cookie = best
	c.res.Recognised = append(c.res.Recognised, fmt.Sprintf("session cookie: %s (set by the app and sent back; recorded values never written)", best))
}

func (c *converter) detectLogout() {
	for i, e := range c.entries {
		p := strings.SplitN(pathOf(e.Request.URL), "?", 2)[0]
		if !c.skipped[i] && strings.Contains(strings.ToLower(p[strings.LastIndex(p, "/")+1:]), "logout") {
			c.logoutPath = pathOf(e.Request.URL)
			for j := i; j < len(c.entries); j++ {
				c.skipped[j] = true // what follows the logout is the logged-out page
			}
			c.res.Recognised = append(c.res.Recognised, fmt.Sprintf("logout: %s %s → session end: logout", e.Request.Method, c.logoutPath))
			return
		}
	}
}

// dropHeaders are set by the browser, the jar or the preset.
var keepHeaders = []string{"accept", "content-type", "x-requested-with"}

func (c *converter) buildSteps() {
	for i, e := range c.entries {
		if c.userAgent == "" {
			c.userAgent = header(e.Request.Headers, "user-agent")
		}
		if c.skipped[i] {
			continue
		}
		s := &step{entry: i, method: e.Request.Method, path: pathOf(e.Request.URL), status: e.Response.Status, count: 1}
		for _, h := range e.Request.Headers {
			n := strings.ToLower(h.Name)
			switch {
			case n == "accept" && !strings.Contains(h.Value, "json"):
			case n == "content-type" && (isForm(e) || isJSON(h.Value, e.Request.Body)):
			case slices.Contains(keepHeaders, n):
				s.headers = append(s.headers, NV{h.Name, h.Value})
			case n == "authorization":
				if c.login != "json-token" {
					c.res.Literal = append(c.res.Literal, fmt.Sprintf("%s %s: an Authorization header (hash %s) left out: the login preset does not make it", s.method, s.path, stats.HashSecret(h.Value)))
				}
			case strings.HasPrefix(n, "x-") && !strings.Contains(n, "csrf") && !strings.Contains(n, "xsrf"):
				s.headers = append(s.headers, NV{h.Name, h.Value})
			}
		}
		switch {
		case e.Request.Body == "" && len(e.Request.Params) == 0:
		case isForm(e):
			s.form = formParams(e)
		case isJSON(e.Request.MimeType, e.Request.Body) && json.Valid([]byte(e.Request.Body)):
			s.json = e.Request.Body
		default:
			s.body = e.Request.Body
		}
		c.steps = append(c.steps, s)
	}
}

// Candidate values in a request: long enough not to match by chance.
var hasDigit = regexp.MustCompile(`\d`)

// idLike values are long enough not to match by chance; ids and tokens
// have digits, words of the app's vocabulary do not.
var idLike = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~:+/=-]{3,}$`)

// correlate replaces values that a later request sends and an earlier
// response returned by an extraction on that response and a template.
func (c *converter) correlate() {
	for _, s := range c.steps {
		replace := func(v, hint string) string {
			if !idLike.MatchString(v) || !hasDigit.MatchString(v) || v == c.user || v == c.password || slices.Contains(c.secrets, v) {
				return v
			}
			if name := c.find(s.entry, v, hint); name != "" {
				return "{{.Var." + name + "}}"
			}
			if hint != "" {
				c.res.Literal = append(c.res.Literal, fmt.Sprintf("%s %s: %s %q was not in any earlier response: left literal", s.method, s.path, hint, v))
			}
			return v
		}
		// Path segments and query values.
		p, q, _ := strings.Cut(s.path, "?")
		segs := strings.Split(p, "/")
		for k, seg := range segs {
			prev := ""
			if k > 0 {
				prev = segs[k-1]
			}
			segs[k] = replace(seg, prev)
		}
		s.path = strings.Join(segs, "/")
		if q != "" {
			parts := strings.Split(q, "&")
			for k, kv := range parts {
				if name, v, ok := strings.Cut(kv, "="); ok {
					if uv, err := url.QueryUnescape(v); err == nil {
						if r := replace(uv, name); r != uv {
							parts[k] = name + "=" + r
						}
					}
				}
			}
			s.path += "?" + strings.Join(parts, "&")
		}
		for k, f := range s.form {
			if f.Name == c.userField && f.Value == c.user && c.user != "" {
				s.form[k].Value = "{{.User}}"
			} else if f.Name == c.passField && f.Value == c.password && c.password != "" {
				s.form[k].Value = "{{.Password}}"
			} else {
				s.form[k].Value = replace(f.Value, f.Name)
			}
		}
		for k, h := range s.headers {
			if strings.HasPrefix(strings.ToLower(h.Name), "x-") { // Accept and Content-Type are the client's own
				s.headers[k].Value = replace(h.Value, h.Name)
			}
		}
		if s.json != "" {
			var v any
			if json.Unmarshal([]byte(s.json), &v) == nil {
				v = c.templateJSON(v, "", replace)
				b, _ := json.Marshal(v)
				s.json = string(b)
			}
		}
		if s.body != "" {
			for _, sec := range []string{c.password} {
				if sec != "" {
					s.body = strings.ReplaceAll(s.body, sec, "{{.Password}}")
				}
			}
		}
	}
	for _, s := range c.steps {
		s.extract = c.extractsByEntry[s.entry]
	}
}

func (c *converter) templateJSON(v any, key string, replace func(string, string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = c.templateJSON(e, k, replace)
		}
	case []any:
		for i, e := range x {
			x[i] = c.templateJSON(e, key, replace)
		}
	case string:
		switch {
		case x == c.user && c.user != "":
			return "{{.User}}"
		case x == c.password && c.password != "":
			return "{{.Password}}"
		}
		return replace(x, key)
	}
	return v
}

// find looks for v in the responses before entry, latest first, and
// returns the variable an extraction on the first holder fills.
func (c *converter) find(entry int, v, hint string) string {
	if name, ok := c.known[v]; ok {
		return name // one variable per value
	}
	for j := entry - 1; j >= 0; j-- {
		e := c.entries[j]
		if !strings.Contains(e.Response.Body, v) && !slices.ContainsFunc(e.Response.Headers, func(h NV) bool { return h.Value == v }) {
			continue
		}
		owner := slices.IndexFunc(c.steps, func(s *step) bool { return s.entry == j })
		if owner < 0 {
			c.res.Literal = append(c.res.Literal, fmt.Sprintf("%q came from %s %s, which is not a step (login or left out): left literal", v, e.Request.Method, pathOf(e.Request.URL)))
			return ""
		}
		x, ok := c.extraction(e, v, hint)
		if !ok {
			continue
		}
		c.extractsByEntry[j] = append(c.extractsByEntry[j], x)
		c.known[v] = x.name
		c.res.Recognised = append(c.res.Recognised, fmt.Sprintf("correlated %s: extracted from %s %s with %s %q, used as {{.Var.%s}} in %s %s",
			x.name, e.Request.Method, pathOf(e.Request.URL), x.kind, x.expr, x.name, c.entries[entry].Request.Method, pathOf(c.entries[entry].Request.URL)))
		return x.name
	}
	return ""
}

func (c *converter) varName(hint, fallback string) string {
	base := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9_]+`).ReplaceAllString(hint, "_"))
	base = strings.Trim(base, "_")
	if base == "" || !plainKey.MatchString(base) {
		base = strings.ToLower(strings.Trim(regexp.MustCompile(`[^A-Za-z0-9_]+`).ReplaceAllString(fallback, "_"), "_"))
	}
	if base == "" || !plainKey.MatchString(base) {
		base = "v"
	}
	name := base
	for n := 2; c.vars[name]; n++ {
		name = fmt.Sprintf("%s%d", base, n)
	}
	c.vars[name] = true
	return name
}

// extraction picks how to take v out of e's response.
func (c *converter) extraction(e *Entry, v, hint string) (extract, bool) {
	if isJSON(e.Response.MimeType, e.Response.Body) {
		var doc any
		if json.Unmarshal([]byte(e.Response.Body), &doc) == nil {
			path := ""
			walk(doc, "", func(p string, x any) bool {
				if fmt.Sprint(x) == v {
					path = p
					return true
				}
				return false
			})
			if path != "" {
				return extract{c.varName(hint, path[strings.LastIndexAny(path, ".[")+1:]), "json", path}, true
			}
		}
	}
	for name, hv := range hiddenInputs(e.Response.Body) {
		if hv == v {
			return extract{c.varName(name, name), "form", name}, true
		}
	}
	for _, h := range e.Response.Headers {
		if h.Value == v && !strings.EqualFold(h.Name, "set-cookie") {
			return extract{c.varName(hint, h.Name), "header", h.Name}, true
		}
	}
	// A regex anchored on the text just before the value.
	if k := strings.Index(e.Response.Body, v); k > 0 {
		pre := e.Response.Body[max(0, k-12):k]
		if nl := strings.LastIndexAny(pre, "\n\r"); nl >= 0 {
			pre = pre[nl+1:]
		}
		expr := regexp.QuoteMeta(pre) + `([A-Za-z0-9._~:+/=-]+)`
		if re, err := regexp.Compile(expr); err == nil && pre != "" {
			if m := re.FindStringSubmatch(e.Response.Body); len(m) == 2 && m[1] == v {
				return extract{c.varName(hint, "value"), "regex", expr}, true
			}
		}
	}
	return extract{}, false
}

var idSeg = regexp.MustCompile(`^(\d+|[0-9a-fA-F-]{8,}|\{\{\.Var\.[a-z0-9_]+\}\}|.*\d.*)$`)

// shape is a step's method and path with ids generalised.
func shape(s *step) (string, string) {
	p, _, _ := strings.Cut(s.path, "?")
	segs := strings.Split(p, "/")
	var name []string
	for k, seg := range segs {
		if seg == "" {
			continue
		}
		if idSeg.MatchString(seg) {
			segs[k] = ":id"
			name = append(name, "id")
			continue
		}
		name = append(name, strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(strings.TrimSuffix(seg, ".jsp"), "-")))
	}
	if len(name) == 0 {
		name = []string{"home"}
	}
	return s.method + " " + strings.Join(segs, "/"), strings.Trim(strings.ToLower(s.method)+"-"+strings.Join(name, "-"), "-")
}

// mergeSamePage folds requests to the same page with other ids into one
// step, templated when the id was correlated, and names the steps.
func (c *converter) mergeSamePage() {
	var out []*step
	seen := map[string]*step{}
	names := map[string]int{}
	for _, s := range c.steps {
		key, name := shape(s)
		if first, ok := seen[key]; ok && strings.Contains(key, ":id") && first.body == s.body && first.json == s.json && len(s.extract) == 0 {
			first.count++
			if s.path != first.path {
				first.ids = append(first.ids, s.path)
			}
			continue
		}
		seen[key] = s
		names[name]++
		if names[name] > 1 {
			name = fmt.Sprintf("%s-%d", name, names[name])
		}
		s.name = name
		out = append(out, s)
	}
	for _, s := range out {
		if s.count > 1 {
			how := "its id templated from an earlier response"
			if !strings.Contains(s.path, "{{") {
				how = "the first recorded id kept literal (no earlier response carried them)"
				c.res.Literal = append(c.res.Literal, fmt.Sprintf("step %s: %d requests to the same page with other ids merged, %s", s.name, s.count, how))
			} else {
				c.res.Recognised = append(c.res.Recognised, fmt.Sprintf("step %s: %d requests to the same page with other ids merged into one step, %s", s.name, s.count, how))
			}
		}
		c.res.Steps = append(c.res.Steps, s.name)
	}
	c.steps = out
}

// thinkTimes measures each step's pause: from the end of its request to
// the start of the next request of the app that the user made.
func (c *converter) thinkTimes() {
	for k, s := range c.steps {
		e := c.entries[s.entry]
		end := e.Started.Add(time.Duration(e.Time * float64(time.Millisecond)))
		if k+1 < len(c.steps) {
			next := c.entries[c.steps[k+1].entry].Started
			if d := next.Sub(end); d > 0 {
				s.think = d.Round(time.Millisecond)
			}
		}
		if k+1 < len(c.steps) {
			c.thinks = append(c.thinks, s.think)
		}
	}
}

// ConvertFile converts the HAR file at path.
func ConvertFile(path string, o Options) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w; expected a HAR file saved from the browser's DevTools", err)
	}
	defer f.Close()
	return Convert(path, f, o)
}
