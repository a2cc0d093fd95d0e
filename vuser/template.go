package vuser

// STUB: the template engine is being written; signatures are the contract.

// Data is what a template can refer to.
type Data struct {
	VU        int               // {{.VU}}: global VU id, from 1
	User      string            // {{.User}}: the VU's username
	Password  string            // {{.Password}}: the VU's password (secret)
	Iteration int64             // {{.Iteration}}: the VU's iteration, from 0
	Vars      map[string]string // {{.Var.name}}: extracted variables
}

// Template is a parsed string with {{...}} placeholders.
type Template struct{ raw string }

// ParseTemplate parses s.
func ParseTemplate(s string) (*Template, error) { return &Template{raw: s}, nil }

// ParseJSONTemplate parses s, a JSON text; values substituted into it are
// escaped as JSON string content.
func ParseJSONTemplate(s string) (*Template, error) { return &Template{raw: s}, nil }

// Append appends the rendered template to dst.
func (t *Template) Append(dst []byte, d *Data) []byte { return append(dst, t.raw...) }

// Render returns the rendered template.
func (t *Template) Render(d *Data) string { return t.raw }

// Raw is the template's source text.
func (t *Template) Raw() string { return t.raw }

// Vars lists the variable names the template refers to with {{.Var.x}}.
func (t *Template) Vars() []string { return nil }
