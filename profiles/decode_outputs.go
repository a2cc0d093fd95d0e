package profiles

import (
	"net"
	"path/filepath"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// outputKeys are the keys of the plan's outputs section.
var outputKeys = []string{"json", "csv", "hlog", "html", "junit", "prometheus"}

// Outputs are the files (and the metrics address) a plan asks every run
// of it to write; command-line flags take precedence. Relative paths are
// relative to the plan file, like every path in a plan.
type Outputs struct {
	JSON, CSV, HLog, HTML, JUnit string
	// Prometheus is the address to serve /metrics on; a bare port means
	// 127.0.0.1.
	Prometheus string
}

func (d *decoder) outputs(n *yaml.Node) Outputs {
	var o Outputs
	m, ok := d.fields(n, "outputs", outputKeys)
	if !ok {
		return o
	}
	path := func(key string, dst *string) {
		f, has := m[key]
		if !has {
			return
		}
		if v, ok := d.nonEmpty(f.val, "outputs."+key); ok {
			if !filepath.IsAbs(v) {
				v = filepath.Join(d.dir, v)
			}
			*dst = v
		}
	}
	path("json", &o.JSON)
	path("csv", &o.CSV)
	path("hlog", &o.HLog)
	path("html", &o.HTML)
	path("junit", &o.JUnit)
	if f, has := m["prometheus"]; has {
		if v, ok := d.nonEmpty(f.val, "outputs.prometheus"); ok {
			if !validListen(v) {
				d.errorf(resolve(f.val), "outputs.prometheus", "expected a port like 9464 or an address like 127.0.0.1:9464, got %q", v)
			} else {
				o.Prometheus = v
			}
		}
	}
	return o
}

// validListen accepts a port or host:port.
func validListen(s string) bool {
	port := s
	if _, p, err := net.SplitHostPort(s); err == nil {
		port = p
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}
