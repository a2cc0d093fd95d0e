package record

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// q quotes a YAML scalar: JSON's double-quoted strings are YAML's too.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// emit writes the plan's YAML text.
func (c *converter) emit() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	name := c.opts.Name
	if name == "" {
		name = "recorded"
	}
	csv := c.opts.UsersCSV
	if csv == "" {
		csv = "users.csv"
	}
	w("# Recorded by `load record`: %d steps. Check what `load record` reported as\n", len(c.steps))
	w("# left literal before running it at scale.\n")
	w("name: %s\n", q(name))
	w("target: %s\n", q(c.origin))
	if c.userAgent != "" {
		w("headers:\n  User-Agent: %s\n", q(c.userAgent))
	}
	if c.login != "none" {
		c.res.UsersHeader = "username,password"
		w("users:\n")
		w("  csv: %s   # header username,password, one row per VU (the recorded password is not written)\n", q(csv))
	}
	w("session:\n")
	if c.res.Cookie != "" {
		w("  cookie: %s\n", q(c.res.Cookie))
	}
	w("  login: %s\n", c.login)
	switch c.login {
	case "spring-form":
		w("  login_path: %s        # GET the form, read the hidden %s, POST the credentials\n", q(c.loginPath), c.csrfField)
		w("  username_field: %s\n  password_field: %s\n  csrf_field: %s\n", q(c.userField), q(c.passField), q(c.csrfField))
	case "tomcat-form":
		w("  protected_path: %s\n", q(c.protectedPath))
		w("  username_field: %s\n  password_field: %s\n", q(c.userField), q(c.passField))
	case "json-token":
		w("  login_path: %s        # POST the credentials as JSON, send the token as Authorization: Bearer\n", q(c.loginPath))
		w("  username_field: %s\n  password_field: %s\n  token_path: %s\n", q(c.userField), q(c.passField), q(c.tokenPath))
	}
	if c.login != "none" {
		w("  relogin: true\n")
		switch {
		case c.logoutPath != "" && c.login != "json-token":
			w("  end: logout\n  logout_path: %s\n", q(c.logoutPath))
		default:
			w("  end: abandon                # the recording did not log out\n")
		}
	}
	w("scenario:\n")
	for k, s := range c.steps {
		w("  - name: %s\n", q(s.name))
		w("    %s: %s\n", strings.ToLower(s.method), q(s.path))
		if len(s.headers) > 0 {
			w("    headers: {%s}\n", pairs(s.headers))
		}
		switch {
		case len(s.form) > 0:
			w("    form: {%s}\n", pairs(s.form))
		case s.json != "":
			w("    json: %s\n", s.json)
		case s.body != "":
			w("    body: %s\n", q(s.body))
		}
		if s.status >= 200 && s.status < 300 {
			w("    check: {status: %d}\n", s.status)
		}
		if len(s.extract) > 0 {
			var xs []string
			for _, x := range s.extract {
				xs = append(xs, fmt.Sprintf("%s: {%s: %s}", x.name, x.kind, q(x.expr)))
			}
			w("    extract: {%s}\n", strings.Join(xs, ", "))
		}
		if !c.opts.ThinkRange && k+1 < len(c.steps) {
			w("    think: %s                 # the recorded pause after this step\n", s.think)
		}
	}
	if len(c.thinks) > 0 {
		lo, hi := slices.Min(c.thinks), slices.Max(c.thinks)
		var sum time.Duration
		for _, t := range c.thinks {
			sum += t
		}
		mean := (sum / time.Duration(len(c.thinks))).Round(time.Millisecond)
		switch {
		case hi <= 0 || !c.opts.ThinkRange:
			// Each step has its own recorded pause (think: above).
		case mean <= 0 || lo == hi:
			w("think: {min: %s, max: %s}   # the recorded pauses between steps\n", lo, hi)
		default:
			w("think: {min: %s, max: %s}   # the recorded pauses between steps (mean %s)\n", lo, hi, mean)
		}
	}
	w("timeout: 10s\n")
	w("load: {vus: 1, duration: 1m}\n")
	return b.String()
}

// pairs writes name/value pairs as a YAML flow mapping's inside.
func pairs(nv []NV) string {
	out := make([]string, len(nv))
	for i, p := range nv {
		out[i] = q(p.Name) + ": " + q(p.Value)
	}
	return strings.Join(out, ", ")
}
