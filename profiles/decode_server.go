package profiles

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sessionload/load/server"
)

var serverKeys = []string{"kind", "url", "context", "host", "connector", "username_env", "password_env", "password_file", "interval", "reset"}

// server reads the server: block: where the server's own session figures
// are (Tomcat's manager JMX proxy, or Spring Boot Actuator), with the
// credentials taken from the environment, never from the plan in clear.
func (d *decoder) server(n *yaml.Node) *server.Config {
	m, ok := d.fields(n, "server", serverKeys)
	if !ok || !d.require(n, "server", m, "url") {
		return nil
	}
	c := &server.Config{Kind: server.KindTomcat}
	good := true
	if e, has := m["kind"]; has {
		k, ok := d.str(e.val, "server.kind")
		switch {
		case !ok:
			good = false
		case k == server.KindTomcat || k == server.KindActuator:
			c.Kind = k
		default:
			d.errorf(resolve(e.val), "server.kind", "expected tomcat (the manager's /jmxproxy) or actuator (Spring Boot), got %q", k)
			good = false
		}
	}
	if s, ok := d.nonEmpty(m["url"].val, "server.url"); ok {
		u, err := url.Parse(s)
		switch {
		case err == nil && u.User != nil:
			// Never echo the credentials back.
			d.errorf(resolve(m["url"].val), "server.url", "credentials in the URL: give them through username_env and password_env")
			good = false
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			d.errorf(resolve(m["url"].val), "server.url", "expected an http(s) URL like http://127.0.0.1:8080/manager, got %q", s)
			good = false
		}
		c.URL = s
	} else {
		good = false
	}
	str := func(key string, to *string) {
		if e, has := m[key]; has {
			v, ok := d.nonEmpty(e.val, "server."+key)
			good = good && ok
			*to = v
		}
	}
	str("context", &c.Context)
	str("host", &c.Host)
	str("connector", &c.Connector)
	if c.Kind == server.KindTomcat {
		if _, has := m["context"]; !has {
			d.errorf(resolve(n), "server", "missing required key \"context\" (the app's context path, e.g. /shop; / for ROOT)")
			good = false
		}
		if c.Context != "" && !strings.HasPrefix(c.Context, "/") {
			d.errorf(resolve(m["context"].val), "server.context", "expected a context path starting with /, got %q", c.Context)
			good = false
		}
		if c.Context == "/" {
			c.Context = "" // Tomcat names the ROOT context ""
		}
	}
	env := func(key string, to *string) {
		e, has := m[key]
		if !has {
			return
		}
		name, ok := d.nonEmpty(e.val, "server."+key)
		if !ok {
			good = false
			return
		}
		v, set := os.LookupEnv(name)
		if !set {
			d.errorf(resolve(e.val), "server."+key, "environment variable %s is not set", name)
			good = false
		}
		*to = v
	}
	env("username_env", &c.Username)
	env("password_env", &c.Password)
	if e, has := m["password_file"]; has {
		if _, both := m["password_env"]; both {
			d.errorf(e.key, "server.password_file", "give password_env or password_file, not both")
			good = false
		} else if name, ok := d.nonEmpty(e.val, "server.password_file"); ok {
			path := name
			if !filepath.IsAbs(path) {
				path = filepath.Join(d.dir, path)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				d.errorf(resolve(e.val), "server.password_file", "%v", err)
				good = false
			}
			// A secret file usually ends with a line break that is not part of it.
			c.Password = strings.TrimRight(string(b), "\r\n")
		} else {
			good = false
		}
	}
	if e, has := m["interval"]; has {
		v, ok := d.duration(e.val, "server.interval", true)
		good = good && ok
		c.Interval = v
	}
	if e, has := m["reset"]; has {
		v, ok := d.boolean(e.val, "server.reset")
		good = good && ok
		c.Reset = v
		if v && c.Kind != server.KindTomcat {
			d.errorf(resolve(e.val), "server.reset", "reset expires sessions through Tomcat's manager; not available with %s", c.Kind)
			good = false
		}
	}
	if !good {
		return nil
	}
	return c
}
