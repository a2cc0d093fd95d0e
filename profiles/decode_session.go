package profiles

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/vuser"
)

var sessionKeys = []string{"cookie", "login", "login_path", "protected_path", "username_field",
	"password_field", "csrf_field", "token_path", "login_steps", "relogin", "end", "logout_path",
	"retry_login", "retry_login_max", "relogins_per_minute", "follow_login_redirect", "url_rewriting", "rejected"}

var loginKinds = []vuser.LoginKind{vuser.LoginSpringForm, vuser.LoginTomcatForm, vuser.LoginJSONToken,
	vuser.LoginBasic, vuser.LoginNone, vuser.LoginSteps}

// loginUses says which logins read each login-specific session key; the
// key is an error with any other login, as it would silently do nothing.
var loginUses = map[string][]vuser.LoginKind{
	"login_path":            {vuser.LoginSpringForm, vuser.LoginJSONToken},
	"protected_path":        {vuser.LoginTomcatForm},
	"username_field":        {vuser.LoginSpringForm, vuser.LoginTomcatForm, vuser.LoginJSONToken},
	"password_field":        {vuser.LoginSpringForm, vuser.LoginTomcatForm, vuser.LoginJSONToken},
	"csrf_field":            {vuser.LoginSpringForm},
	"token_path":            {vuser.LoginJSONToken},
	"login_steps":           {vuser.LoginSteps},
	"follow_login_redirect": {vuser.LoginSpringForm, vuser.LoginTomcatForm},
}

// loginNeeds is the key each login cannot do without.
var loginNeeds = map[vuser.LoginKind]string{
	vuser.LoginTomcatForm: "protected_path",
	vuser.LoginJSONToken:  "login_path",
	vuser.LoginSteps:      "login_steps",
}

// sessionSection is what the rest of the plan needs from the session.
type sessionSection struct {
	ok       bool       // the login kind is known
	kindNode *yaml.Node // the login value, where a plan-wide login problem is reported
	steps    *yaml.Node // login_steps, decoded with the scenario
}

// session fills s.Session and s.Login from the session section f (zero
// when the plan has none).
func (d *decoder) session(f kv, path string, s *vuser.Script) sessionSection {
	s.Session = vuser.Session{
		Cookie:     "JSESSIONID",
		Relogin:    true,
		End:        vuser.EndLogout,
		LogoutPath: "/logout",
		RetryLogin: defaultRetryLogin,
	}
	s.Login = vuser.Login{Kind: vuser.LoginNone}
	res := sessionSection{ok: true}
	if f.key == nil {
		s.Session.End = vuser.EndAbandon // no login, nothing to log out of
		return res
	}
	m, ok := d.fields(f.val, path, sessionKeys)
	if !ok {
		return sessionSection{}
	}
	str := func(key string, dst *string) (*yaml.Node, bool) {
		e, has := m[key]
		if !has {
			return nil, false
		}
		v, ok := d.nonEmpty(e.val, path+"."+key)
		if ok {
			*dst = v
		}
		return resolve(e.val), ok
	}

	if e, has := m["login"]; has {
		res.kindNode = resolve(e.val)
		if v, ok := d.str(e.val, path+".login"); ok {
			if k := vuser.LoginKind(v); slices.Contains(loginKinds, k) {
				s.Login.Kind = k
			} else {
				d.errorf(res.kindNode, path+".login", "expected one of %s, got %q%s", kindList(), v, didYouMean(v, kindNames()))
				res.ok = false
			}
		} else {
			res.ok = false
		}
	}
	kind := s.Login.Kind
	if res.ok {
		for key, kinds := range loginUses {
			if e, has := m[key]; has && !slices.Contains(kinds, kind) {
				d.errorf(e.key, path+"."+key, "only used with login: %s (this plan's login is %s)", joinKinds(kinds), kind)
			}
		}
		if need, ok := loginNeeds[kind]; ok {
			if _, has := m[need]; !has {
				d.errorf(resolve(f.val), path, "missing required key %q (login: %s)", need, kind)
				res.ok = false
			}
		}
	}

	l := &s.Login
	switch kind {
	case vuser.LoginSpringForm:
		l.Path, l.UsernameField, l.PasswordField, l.CSRFField = "/login", "username", "password", "_csrf"
	case vuser.LoginTomcatForm:
		l.UsernameField, l.PasswordField = "j_username", "j_password"
	case vuser.LoginJSONToken:
		l.UsernameField, l.PasswordField, l.TokenPath = "username", "password", "token"
	}
	if n, ok := str("login_path", &l.Path); ok {
		d.checkPath(n, path+".login_path", l.Path, s.Target)
	}
	if n, ok := str("protected_path", &l.ProtectedPath); ok {
		d.checkPath(n, path+".protected_path", l.ProtectedPath, s.Target)
	}
	str("username_field", &l.UsernameField)
	str("password_field", &l.PasswordField)
	str("csrf_field", &l.CSRFField)
	str("token_path", &l.TokenPath)
	if e, has := m["login_steps"]; has && kind == vuser.LoginSteps {
		res.steps = e.val
	}

	if n, ok := str("cookie", &s.Session.Cookie); ok && !isToken(s.Session.Cookie) {
		d.errorf(n, path+".cookie", "%q is not a valid cookie name", s.Session.Cookie)
	}
	if e, has := m["relogin"]; has {
		if v, ok := d.boolean(e.val, path+".relogin"); ok {
			s.Session.Relogin = v
		}
	}
	if kind == vuser.LoginNone {
		s.Session.End = vuser.EndAbandon
	}
	if e, has := m["end"]; has {
		if v, ok := d.str(e.val, path+".end"); ok {
			switch end := vuser.End(v); end {
			case vuser.EndLogout, vuser.EndAbandon:
				s.Session.End = end
			default:
				d.errorf(resolve(e.val), path+".end", "expected logout or abandon, got %q", v)
			}
		}
	}
	if n, ok := str("logout_path", &s.Session.LogoutPath); ok {
		d.checkPath(n, path+".logout_path", s.Session.LogoutPath, s.Target)
	}
	if e, has := m["retry_login"]; has {
		if v, ok := d.duration(e.val, path+".retry_login", false); ok {
			s.Session.RetryLogin = v
		}
	}
	d.lifeCycle(m, path, s, kind)
	return res
}

// lifeCycle reads the keys of a session's life cycle beyond the login:
// back-off, re-login rate, the login redirect, URL rewriting, what a
// refusal looks like; and checks that the plan can end its sessions.
func (d *decoder) lifeCycle(m map[string]kv, path string, s *vuser.Script, kind vuser.LoginKind) {
	ss := &s.Session
	if e, has := m["retry_login_max"]; has {
		if v, ok := d.duration(e.val, path+".retry_login_max", true); ok {
			if v < ss.RetryLogin {
				d.errorf(resolve(e.val), path+".retry_login_max", "%s is shorter than retry_login (%s)", v, ss.RetryLogin)
			}
			ss.RetryLoginMax = v
		}
	}
	if e, has := m["relogins_per_minute"]; has {
		if v, ok := d.integer(e.val, path+".relogins_per_minute", 1, "a whole number of at least 1"); ok {
			ss.ReloginsPerMinute = v
		}
	}
	if e, has := m["follow_login_redirect"]; has {
		if v, ok := d.boolean(e.val, path+".follow_login_redirect"); ok {
			ss.StopAtLoginRedirect = !v
		}
	}
	if e, has := m["url_rewriting"]; has {
		if v, ok := d.boolean(e.val, path+".url_rewriting"); ok {
			ss.URLRewriting = v
		}
	}
	if e, has := m["rejected"]; has {
		ss.Rejected = d.rejections(e.val, path+".rejected")
	}
	if kind == vuser.LoginTomcatForm && ss.End == vuser.EndLogout {
		if _, has := m["logout_path"]; !has {
			n, at := resolve(m["login"].val), path
			if e, has := m["end"]; has {
				n, at = resolve(e.val), path+".end"
			}
			d.errorf(n, at, "end: logout with login: tomcat-form needs %s.logout_path (Tomcat has no logout URL: "+
				"name a page that calls session.invalidate(), e.g. /examples/jsp/security/protected/index.jsp?logoff=true, or set end: abandon)", path)
		}
	}
}

// rejections reads session.rejected: a preset (tomcat, spring), a
// {status, body_contains} or {redirect, body_contains} mapping, or a list
// of them.
func (d *decoder) rejections(n *yaml.Node, path string) []vuser.Rejection {
	n = resolve(n)
	const want = "tomcat, spring, {status, body_contains} or {redirect, body_contains}"
	if n.Kind == yaml.SequenceNode {
		out := []vuser.Rejection{}
		for _, item := range n.Content {
			out = append(out, d.rejections(item, path)...)
		}
		return out
	}
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "tomcat":
			return []vuser.Rejection{vuser.RejectTomcat}
		case "spring":
			return []vuser.Rejection{vuser.RejectSpring}
		}
		d.errorf(n, path, "expected %s, got %q%s", want, n.Value, didYouMean(n.Value, []string{"tomcat", "spring"}))
		return nil
	}
	m, ok := d.fields(n, path, []string{"status", "body_contains", "redirect"})
	if !ok {
		return nil
	}
	var r vuser.Rejection
	if e, has := m["status"]; has {
		if v, ok := d.integer(e.val, path+".status", 100, "an HTTP status like 500"); ok {
			r.Status = v
		}
	}
	if e, has := m["body_contains"]; has {
		r.BodyContains, _ = d.nonEmpty(e.val, path+".body_contains")
	}
	if e, has := m["redirect"]; has {
		r.Redirect, _ = d.nonEmpty(e.val, path+".redirect")
		if _, has := m["status"]; has {
			d.errorf(e.key, path, "a rejection is a status or a redirect, not both")
		}
	}
	if r.Status == 0 && r.BodyContains == "" && r.Redirect == "" {
		d.errorf(n, path, "expected %s, got an empty mapping", want)
	}
	return []vuser.Rejection{r}
}

func kindNames() []string {
	out := make([]string, len(loginKinds))
	for i, k := range loginKinds {
		out[i] = string(k)
	}
	return out
}

func kindList() string { return strings.Join(kindNames(), ", ") }

func joinKinds(ks []vuser.LoginKind) string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return strings.Join(out, " or ")
}

// didYouMean is a "; did you mean" suffix when v is close to a choice.
func didYouMean(v string, choices []string) string {
	if s := suggest(v, choices); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}
