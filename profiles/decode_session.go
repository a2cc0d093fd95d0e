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
	"retry_login"}

var loginKinds = []vuser.LoginKind{vuser.LoginSpringForm, vuser.LoginTomcatForm, vuser.LoginJSONToken,
	vuser.LoginBasic, vuser.LoginNone, vuser.LoginSteps}

// loginUses says which logins read each login-specific session key; the
// key is an error with any other login, as it would silently do nothing.
var loginUses = map[string][]vuser.LoginKind{
	"login_path":     {vuser.LoginSpringForm, vuser.LoginJSONToken},
	"protected_path": {vuser.LoginTomcatForm},
	"username_field": {vuser.LoginSpringForm, vuser.LoginTomcatForm, vuser.LoginJSONToken},
	"password_field": {vuser.LoginSpringForm, vuser.LoginTomcatForm, vuser.LoginJSONToken},
	"csrf_field":     {vuser.LoginSpringForm},
	"token_path":     {vuser.LoginJSONToken},
	"login_steps":    {vuser.LoginSteps},
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
func (d *decoder) session(f kv, s *vuser.Script) sessionSection {
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
	m, ok := d.fields(f.val, "session", sessionKeys)
	if !ok {
		return sessionSection{}
	}
	str := func(key string, dst *string) (*yaml.Node, bool) {
		e, has := m[key]
		if !has {
			return nil, false
		}
		v, ok := d.nonEmpty(e.val, "session."+key)
		if ok {
			*dst = v
		}
		return resolve(e.val), ok
	}

	if e, has := m["login"]; has {
		res.kindNode = resolve(e.val)
		if v, ok := d.str(e.val, "session.login"); ok {
			if k := vuser.LoginKind(v); slices.Contains(loginKinds, k) {
				s.Login.Kind = k
			} else {
				d.errorf(res.kindNode, "session.login", "expected one of %s, got %q%s", kindList(), v, didYouMean(v, kindNames()))
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
				d.errorf(e.key, "session."+key, "only used with login: %s (this plan's login is %s)", joinKinds(kinds), kind)
			}
		}
		if need, ok := loginNeeds[kind]; ok {
			if _, has := m[need]; !has {
				d.errorf(resolve(f.val), "session", "missing required key %q (login: %s)", need, kind)
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
		d.checkPath(n, "session.login_path", l.Path, s.Target)
	}
	if n, ok := str("protected_path", &l.ProtectedPath); ok {
		d.checkPath(n, "session.protected_path", l.ProtectedPath, s.Target)
	}
	str("username_field", &l.UsernameField)
	str("password_field", &l.PasswordField)
	str("csrf_field", &l.CSRFField)
	str("token_path", &l.TokenPath)
	if e, has := m["login_steps"]; has && kind == vuser.LoginSteps {
		res.steps = e.val
	}

	if n, ok := str("cookie", &s.Session.Cookie); ok && !isToken(s.Session.Cookie) {
		d.errorf(n, "session.cookie", "%q is not a valid cookie name", s.Session.Cookie)
	}
	if e, has := m["relogin"]; has {
		if v, ok := d.boolean(e.val, "session.relogin"); ok {
			s.Session.Relogin = v
		}
	}
	if kind == vuser.LoginNone {
		s.Session.End = vuser.EndAbandon
	}
	if e, has := m["end"]; has {
		if v, ok := d.str(e.val, "session.end"); ok {
			switch end := vuser.End(v); end {
			case vuser.EndLogout, vuser.EndAbandon:
				s.Session.End = end
			default:
				d.errorf(resolve(e.val), "session.end", "expected logout or abandon, got %q", v)
			}
		}
	}
	if n, ok := str("logout_path", &s.Session.LogoutPath); ok {
		d.checkPath(n, "session.logout_path", s.Session.LogoutPath, s.Target)
	}
	if e, has := m["retry_login"]; has {
		if v, ok := d.duration(e.val, "session.retry_login", false); ok {
			s.Session.RetryLogin = v
		}
	}
	return res
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
