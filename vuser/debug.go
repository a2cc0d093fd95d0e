package vuser

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionload/load/stats"
)

// debugBody is how much of each request and response body a dump shows;
// debugCapture is how much is kept to hide secrets in, so a secret cut by
// the end of what is shown is hidden whole, not shown in part.
const (
	debugBody    = 2 << 10
	debugCapture = debugBody + 4<<10
)

// SetDebug makes VU vu write every exchange it has, login and redirects
// included, to w: request and response heads and the first 2 KiB of
// each body, with secrets shown as short hashes (stats.HashSecret):
// password fields, Authorization, every cookie value, the json-token
// token, and the VU's password and tokens wherever else they appear.
// Call it before the first NewVU; a nil w turns debugging off. Only the
// chosen VU pays for it: the others keep the plain transport.
func (e *Env) SetDebug(vu int, w io.Writer) {
	e.debugVU, e.debug = vu, nil
	if w != nil {
		e.debug = &debugWriter{w: w}
	}
}

// debugWriter serialises dumps: a VU id may be reused by a later VU
// (session arrivals), whose dump must not interleave with the last one's.
type debugWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// debugTransport dumps the exchanges of one VU as they pass to the
// shared transport. It runs on the VU's goroutine only (the client calls
// it synchronously), except Close of a response body, which the VU calls
// too.
type debugTransport struct {
	rt  http.RoundTripper
	out *debugWriter
	vu  *VU
	// secrets are values to hash wherever they appear: the password, and
	// every session cookie and token seen. Bounded: the newest 32.
	secrets []string
}

func (d *debugTransport) remember(s string) {
	if s == "" || slices.Contains(d.secrets, s) {
		return
	}
	if len(d.secrets) >= 32 {
		d.secrets = slices.Delete(d.secrets, 1, 2) // keep the password, drop the oldest other
	}
	d.secrets = append(d.secrets, s)
}

// hide replaces every known secret in s by its hash.
func (d *debugTransport) hide(s string) string {
	for _, sec := range d.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, hashed(sec))
		}
	}
	return s
}

func hashed(s string) string { return "<hash " + stats.HashSecret(s) + ">" }

// RoundTrip dumps the request, sends it, and dumps the response head; the
// response body is dumped when the VU closes it.
func (d *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "> VU %d %s %s %s\n", d.vu.id, time.Now().Format("15:04:05.000"), req.Method, d.hide(req.URL.String()))
	d.headers(&b, ">", req.Header)
	if req.GetBody != nil && req.ContentLength != 0 {
		if rc, err := req.GetBody(); err == nil {
			body, _ := io.ReadAll(io.LimitReader(rc, debugCapture))
			rc.Close()
			d.body(&b, ">", d.requestBody(req.Header.Get("Content-Type"), body), req.ContentLength)
		}
	}
	d.flush(&b)
	start := time.Now()
	resp, err := d.rt.RoundTrip(req)
	if err != nil {
		fmt.Fprintf(&b, "< VU %d error after %s: %s\n\n", d.vu.id, time.Since(start).Round(time.Microsecond), d.hide(err.Error()))
		d.flush(&b)
		return resp, err
	}
	for _, c := range resp.Cookies() {
		d.remember(c.Value)
	}
	d.rememberRewritten(resp.Header.Get("Location"))
	fmt.Fprintf(&b, "< VU %d %s %s (%s)\n", d.vu.id, resp.Proto, resp.Status, time.Since(start).Round(time.Microsecond))
	d.headers(&b, "<", resp.Header)
	d.flush(&b)
	resp.Body = &debugBodyReader{rc: resp.Body, d: d, json: strings.Contains(resp.Header.Get("Content-Type"), "json")}
	return resp, nil
}

func (d *debugTransport) flush(b *strings.Builder) {
	d.out.mu.Lock()
	io.WriteString(d.out.w, b.String())
	d.out.mu.Unlock()
	b.Reset()
}

// headers writes h sorted, with credentials and cookie values hashed.
func (d *debugTransport) headers(b *strings.Builder, dir string, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			switch k {
			case "Authorization", "Proxy-Authorization":
				scheme, cred, found := strings.Cut(v, " ")
				if !found {
					scheme, cred = "", v
				}
				d.remember(cred)
				v = strings.TrimSpace(scheme + " " + hashed(cred))
			case "Cookie":
				v = cookieHeader(v)
			case "Set-Cookie":
				v = setCookieHeader(v)
			}
			fmt.Fprintf(b, "%s %s: %s\n", dir, k, d.hide(v))
		}
	}
}

// cookieHeader is a Cookie header with every value hashed.
func cookieHeader(v string) string {
	parts := strings.Split(v, ";")
	for i, p := range parts {
		name, val, found := strings.Cut(strings.TrimSpace(p), "=")
		if found {
			parts[i] = name + "=" + hashed(val)
		}
	}
	return strings.Join(parts, "; ")
}

// setCookieHeader is a Set-Cookie header with its value hashed and its
// attributes shown (Path, Domain, Max-Age explain many lost sessions).
func setCookieHeader(v string) string {
	first, attrs, _ := strings.Cut(v, ";")
	name, val, found := strings.Cut(first, "=")
	if !found {
		return hashed(v)
	}
	out := strings.TrimSpace(name) + "=" + hashed(strings.TrimSpace(val))
	if attrs != "" {
		out += ";" + attrs
	}
	return out
}

// requestBody is a request body as shown: form fields that hold the
// password replaced by their hash, the rest as sent.
func (d *debugTransport) requestBody(ctype string, body []byte) string {
	if !strings.HasPrefix(ctype, "application/x-www-form-urlencoded") || len(body) >= debugCapture {
		return string(body)
	}
	pw := d.vu.env.script.Login.PasswordField
	pairs := strings.Split(string(body), "&")
	for i, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		name, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 == nil && err2 == nil && (name == pw || strings.Contains(strings.ToLower(name), "password")) {
			d.remember(val)
			pairs[i] = k + "=" + hashed(val)
		}
	}
	return strings.Join(pairs, "&")
}

// rememberRewritten remembers every URL-rewritten session id in s
// (";jsessionid=..."), so the dump hides them as it hides cookies.
func (d *debugTransport) rememberRewritten(s string) {
	param := d.vu.env.rewriteParam
	for {
		i := strings.Index(s, param)
		if i < 0 {
			return
		}
		s = s[i+len(param):]
		n := 0
		for n < len(s) && isIDByte(s[n]) {
			n++
		}
		d.remember(s[:n])
	}
}

// note writes what the VU made of an exchange (a failed login, a failed
// check): the dump then says why, not only what was said.
func (d *debugTransport) note(format string, args ...any) {
	var b strings.Builder
	fmt.Fprintf(&b, "= VU %d %s\n\n", d.vu.id, d.hide(fmt.Sprintf(format, args...)))
	d.flush(&b)
}

// body writes text, the start of a body of n bytes, cut at debugBody
// once its secrets are hidden.
func (d *debugTransport) body(b *strings.Builder, dir, text string, n int64) {
	text = d.hide(text)
	if len(text) > debugBody {
		text = text[:debugBody]
		fmt.Fprintf(b, "%s body: %d bytes, the first %d shown\n", dir, n, debugBody)
	} else {
		fmt.Fprintf(b, "%s body: %d bytes\n", dir, n)
	}
	for line := range strings.Lines(text) {
		fmt.Fprintf(b, "%s | %s\n", dir, strings.TrimSuffix(line, "\n"))
	}
}

// debugBodyReader keeps the first bytes of a response body and dumps them
// when the body is closed.
type debugBodyReader struct {
	rc   io.ReadCloser
	d    *debugTransport
	json bool
	head bytes.Buffer
	n    int64
	done bool
}

func (r *debugBodyReader) Read(p []byte) (int, error) {
	k, err := r.rc.Read(p)
	r.n += int64(k)
	if room := debugCapture - r.head.Len(); room > 0 {
		r.head.Write(p[:min(k, room)])
	}
	return k, err
}

func (r *debugBodyReader) Close() error {
	err := r.rc.Close()
	if r.done {
		return err
	}
	r.done = true
	d := r.d
	if r.json && d.vu.env.script.Login.Kind == LoginJSONToken {
		// The token is in this body when it is the login's answer.
		if tok, ok := d.vu.env.tokenExtractor.Extract(&Response{Body: r.head.Bytes()}); ok {
			d.remember(tok)
		}
	}
	d.rememberRewritten(r.head.String())
	var b strings.Builder
	if r.n > 0 {
		d.body(&b, "<", r.head.String(), r.n)
	}
	b.WriteString("\n")
	d.flush(&b)
	return err
}
