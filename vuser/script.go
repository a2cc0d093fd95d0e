// Package vuser is one virtual user: its own cookie jar and identity, its
// login and re-login, the scenario it runs with its session (steps with
// flow control, or Go code: Script.Func and VU.Do), and the extraction
// and checks on each response.
package vuser

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// Script is what every VU of a run executes. It is built once (by the plan
// loader in profiles, or by a Go program embedding load) and shared
// read-only by all VUs.
type Script struct {
	// Name is the scenario's name: its endpoints and iterations are
	// recorded under it. "" for a plan's only scenario.
	Name string
	// Target is the base URL; step paths are resolved against it.
	Target *url.URL
	// Headers are sent on every request unless a step overrides them.
	Headers http.Header
	// Session says which cookie is the session and what to do when it is lost.
	Session Session
	// Login is how a VU gets its session.
	Login Login
	// Steps is the scenario, run once per iteration.
	Steps []Step
	// Func, if set, is the scenario as Go code, run once per iteration
	// instead of Steps (see IterFunc).
	Func IterFunc
	// Data are the named test data sources ({{.Data.NAME.COLUMN}}).
	Data map[string]DataSource
	// Think is the pause after each step (a step's own Think replaces it).
	Think Think
	// Timeout bounds one request, body included. Zero means no limit.
	Timeout time.Duration
	// Seed makes think times, random branches and random picks
	// reproducible: VU i draws from a generator seeded with (Seed, i).
	// Zero picks a random seed.
	Seed uint64
	// MaxBody caps how many response bytes are kept for checks and
	// extraction; the rest is read and discarded (only its size counts).
	MaxBody int
}

// End says what a VU does with its session when it stops.
type End string

// The ways a VU ends its session.
const (
	EndLogout  End = "logout"  // call the logout path, the server invalidates the session
	EndAbandon End = "abandon" // walk away, the session expires on the server
)

// Session configures the session cookie and its life cycle.
type Session struct {
	// Cookie is the session cookie's name (JSESSIONID, SESSION, ...).
	Cookie string
	// Relogin makes a VU log in again when the server drops its session
	// (401, a redirect to the login page, the cookie gone) and retry the
	// step once.
	Relogin bool
	// End is what happens to the session when the VU stops.
	End End
	// LogoutPath is requested (POST) for EndLogout.
	LogoutPath string
	// RetryLogin is the first pause before a VU whose login failed, whose
	// session was rejected, or whose new session was refused at once (a
	// wrong Basic password), tries again; each further failure in a row
	// doubles it, with jitter, up to RetryLoginMax. A success (a login
	// whose session served a request) resets it. A VU never tries a
	// failed credential again sooner than RetryLogin.
	RetryLogin time.Duration
	// RetryLoginMax caps the back-off. Zero means max(1m, RetryLogin).
	RetryLoginMax time.Duration
	// ReloginsPerMinute caps the logins a VU attempts after its first in
	// any minute, whatever their cause. Zero means 6.
	ReloginsPerMinute int
	// StopAtLoginRedirect leaves the redirect a successful spring-form or
	// tomcat-form login answers with unfollowed. By default the VU
	// follows it (as a browser does) within the login request: Tomcat
	// ends the session's authentication phase only when the saved request
	// is fetched.
	StopAtLoginRedirect bool
	// URLRewriting keeps a session id carried in URLs (;jsessionid=...,
	// Tomcat's cookieless sessions) from redirects and the links and
	// forms of pages, and adds it to every request.
	URLRewriting bool
	// Rejected says what a server's refusal to create a session looks
	// like; nil means the Tomcat and Spring presets (RejectTomcat,
	// RejectSpring).
	Rejected []Rejection
}

// Rejection is what a server refusing a session answers: a status with
// a text in the body, or, for a login, a redirect to a URL (whose page,
// with BodyContains, holds that text).
type Rejection struct {
	// Status is the response status; 0 means any error status (>= 400).
	Status int
	// BodyContains is a text the body (of the page a Redirect leads to)
	// holds; empty means any.
	BodyContains string
	// Redirect is the URL (path and query, relative to the target; empty
	// with Spring's preset: the login path + "?error") a refused login is
	// redirected to. A redirect matches when its path is this one and its
	// query starts with this one's.
	Redirect string
	// spring marks the Spring preset, whose URL follows the login path.
	spring bool
}

// The rejection presets.
var (
	// RejectTomcat is Tomcat's maxActiveSessions: TooManyActiveSessionsException,
	// a 500 saying so.
	RejectTomcat = Rejection{Status: 500, BodyContains: "Too many active sessions"}
	// RejectSpring is Spring Security's maximumSessions with
	// maxSessionsPreventsLogin: the login fails to the failure URL (by
	// default the login page with ?error), whose page shows the message.
	RejectSpring = Rejection{BodyContains: "Maximum sessions of", spring: true}
)

// LoginKind names a login preset.
type LoginKind string

// The login presets.
const (
	LoginSpringForm LoginKind = "spring-form" // GET form, hidden _csrf, POST username/password/_csrf
	LoginTomcatForm LoginKind = "tomcat-form" // GET protected page, POST j_security_check
	LoginJSONToken  LoginKind = "json-token"  // POST JSON credentials, Bearer token after
	LoginBasic      LoginKind = "basic"       // Authorization: Basic on every request
	LoginNone       LoginKind = "none"        // no login at all
	LoginSteps      LoginKind = "steps"       // custom login written as ordinary steps
)

// Login configures how a VU logs in.
type Login struct {
	Kind LoginKind
	// Path is the login page and form action (spring-form), or the token
	// endpoint (json-token).
	Path string
	// ProtectedPath is a protected page whose form posts to
	// j_security_check beside it (tomcat-form).
	ProtectedPath string
	// UsernameField and PasswordField name the credential fields of the
	// form or JSON body (defaults per preset).
	UsernameField string
	PasswordField string
	// CSRFField names the hidden CSRF input (spring-form, default _csrf).
	CSRFField string
	// TokenPath is the JSON path of the token in the login response
	// (json-token, default "token").
	TokenPath string
	// Steps is the custom login (LoginSteps).
	Steps []Step
}

// Think is the pause after each step: constant (Min == Max), uniform in
// [Min, Max], or, with Mean set, exponential with that mean (the pauses of
// independent users, a Poisson process), capped at Max when Max > 0.
type Think struct {
	Min, Max time.Duration
	Mean     time.Duration
}

// IterFunc is one iteration of a scenario written in Go. It runs on the
// VU's goroutine with the VU logged in; its requests go through u (Do,
// Get, PostForm, PostJSON), which records them, checks for a lost
// session and logs in again as the script's Session says. An error ends
// the iteration uncounted (the requests already sent are recorded).
type IterFunc func(ctx context.Context, u *VU) error

// Step is one request of a scenario, or a control step (exactly one of
// Repeat, Random, If, Foreach, Group set) that runs the steps it holds.
// A control step sends no request itself and has no Method or Path.
type Step struct {
	// Name is the endpoint name the step's samples are recorded under
	// (a group's name for Group). Steps of one name record into one
	// endpoint, wherever they stand (inside a repeat, say).
	Name string
	// Think, if set, replaces Script.Think as the pause after this step;
	// a zero Think is no pause. On a control step it is a pause after
	// the whole step (nil: none; its steps pause as their own say).
	Think *Think
	// Flow control; nil for a request step.
	Repeat  *Repeat
	Random  []Branch
	If      *If
	Foreach *Foreach
	Group   *Group

	// Method is the HTTP method (GET, POST, ...).
	Method string
	// Path is resolved against Script.Target; it may hold templates.
	Path *Template
	// Headers are added to (and override) the script's headers.
	Headers []Header
	// Form is an application/x-www-form-urlencoded body, fields in order.
	Form []Field
	// JSON is a JSON body whose string values may hold templates; it is
	// rendered as a whole template.
	JSON *Template
	// Body is a raw body (with ContentType set in Headers).
	Body *Template
	// Check is what the response must satisfy.
	Check Check
	// Extract fills VU variables from the response.
	Extract []Extractor
}

// Repeat runs Steps Times times (a template rendered when the repeat is
// reached, e.g. "{{randInt 1 5}}"), or, with For, again and again until
// For has passed since the repeat began (a pass that has begun finishes).
type Repeat struct {
	Times *Template
	For   time.Duration
	Steps []Step
}

// Branch is one weighted choice of a Random step: a Random step runs the
// steps of one of its branches, drawn with probability Weight / the sum
// of the weights from the VU's own seeded generator.
type Branch struct {
	Weight float64
	Steps  []Step
}

// CondOp is how an If compares.
type CondOp string

// The conditions of an If.
const (
	CondEquals  CondOp = "equals"  // the value equals Value (rendered)
	CondMatches CondOp = "matches" // the value matches Regexp
	CondExists  CondOp = "exists"  // the variable is set (a list: non-empty)
)

// If runs Steps when its condition holds, else Else. The value tested is
// the variable Var, or, with Status, the status code of the VU's last
// response as decimal text.
type If struct {
	Var    string
	Status bool
	Op     CondOp
	Value  *Template      // CondEquals
	Regexp *regexp.Regexp // CondMatches
	Steps  []Step
	Else   []Step
}

// Foreach runs Steps once per item of the list variable Var (extracted
// with all, or a JSON array), the item in the variable As, at most Limit
// times (0: every item).
type Foreach struct {
	Var   string
	As    string
	Limit int
	Steps []Step
}

// Group is a transaction: its Steps run in order, and the group records
// its own duration (from its first request's start to its last
// response's end, think times inside included) and the sum of its
// requests' service times, under the group's Name. Its requests record
// under endpoints of the group (a group inside another is named
// "outer/inner"). A group whose requests failed is recorded with the
// first failure's kind, even when the iteration stops inside it.
type Group struct {
	Steps []Step
}

// DataSource is a named table of test data ({{.Data.NAME.COLUMN}}). A VU
// takes a row when an iteration begins (or once, for a source that gives
// each VU its own row); Row reports false when the source has no row left
// for the VU (unique rows all handed out), which stops the VU with
// data_exhausted.
type DataSource interface {
	// Columns are the column names, in file order.
	Columns() []string
	// Row returns the row for VU vu (global id) at the start of its
	// iteration iter, drawing from rng where the source is random. The
	// slice is shared: the caller must not change it.
	Row(vu int, iter int64, rng *rand.Rand) ([]string, bool)
}

// Header is one request header whose value may hold templates.
type Header struct {
	Name  string
	Value *Template
}

// Field is one form field whose value may hold templates.
type Field struct {
	Name  string
	Value *Template
}

// Check is what a response must satisfy; an empty Check accepts any
// non-error status (< 400).
type Check struct {
	// Status lists the accepted status codes; empty means any status < 400.
	Status []int
	// BodyContains lists substrings the body must contain.
	BodyContains []string
	// JSON lists JSON paths with the value each must equal.
	JSON []JSONCheck
	// BodyContainsT are BodyContains parsed as templates (nil: literal).
	BodyContainsT []*Template
	// BodyMatches lists regular expressions the body must match.
	BodyMatches []*regexp.Regexp
	// BodyNotContains lists substrings the body must not contain.
	BodyNotContains []string
	// Headers lists response header checks.
	Headers []HeaderCheck
}

// HeaderCheck asserts a response header: present (Exists), equal to
// Equals (a template), containing Contains, or matching Matches; one of
// them is set.
type HeaderCheck struct {
	Name     string
	Exists   bool
	Equals   *Template
	Contains string
	Matches  *regexp.Regexp
}

// JSONCheck asserts that the value at Path, as text, equals Equals.
type JSONCheck struct {
	Path   string
	Equals string
	// Want is Equals parsed as a template (e.g. "{{.User}}", to prove an
	// answer belongs to the VU's own user); nil compares Equals as is.
	Want *Template
}

// Identity is who a VU logs in as.
type Identity struct {
	Username string
	Password string
	// Row holds the extra columns of the user's CSV row ({{.Row.NAME}});
	// shared by the VUs of one user: read only.
	Row map[string]string
}
