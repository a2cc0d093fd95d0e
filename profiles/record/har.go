// Package record turns a browser recording (HAR 1.2, as Chromium's and
// Firefox's DevTools save it) into a plan: static resources and
// third-party hosts left out, the login replaced by its preset, values
// that later requests reuse correlated into extractions, and the
// recording's secrets kept out of the plan.
package record

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
)

// maxBody caps the response text kept per entry: correlation looks for
// values in it, and a recorded download must not fill memory.
const maxBody = 1 << 20

// NV is a HAR name/value pair (header, query parameter, form field).
type NV struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Entry is the part of one HAR entry the conversion reads.
type Entry struct {
	Started time.Time
	// Time is the entry's total time in milliseconds.
	Time         float64
	ResourceType string
	Request      Request
	Response     Response
}

// Request is a HAR request.
type Request struct {
	Method   string
	URL      string
	Headers  []NV
	MimeType string
	Body     string
	Params   []NV
}

// Response is a HAR response.
type Response struct {
	Status   int
	Headers  []NV
	MimeType string
	Body     string
}

type harEntry struct {
	StartedDateTime string  `json:"startedDateTime"`
	Time            float64 `json:"time"`
	ResourceType    string  `json:"_resourceType"`
	Request         *struct {
		Method   string `json:"method"`
		URL      string `json:"url"`
		Headers  []NV   `json:"headers"`
		PostData *struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			Params   []NV   `json:"params"`
		} `json:"postData"`
	} `json:"request"`
	Response *struct {
		Status  int  `json:"status"`
		Headers []NV `json:"headers"`
		Content struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			Encoding string `json:"encoding"`
		} `json:"content"`
	} `json:"response"`
}

// Error is a problem with the HAR file itself, at a byte offset.
type Error struct {
	File   string
	Offset int64 // -1: no position
	Line   int
	Col    int
	Msg    string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return e.File + ": " + e.Msg
}

const expected = `expected a HAR 1.2 file: {"log": {"version": "1.2", "entries": [...]}} as a browser's DevTools save it ("Save all as HAR")`

// Decode reads a HAR from r one entry at a time, so a recording of
// gigabytes is never held whole: keep is called for each entry in file
// order and returns whether the entry is worth keeping (its response text
// is dropped when not). When r is also an io.Seeker (a file), errors
// carry the line and column of the problem.
func Decode(file string, r io.Reader, keep func(*Entry) bool) ([]*Entry, error) {
	cr := &countReader{r: r}
	dec := json.NewDecoder(bufio.NewReaderSize(cr, 64<<10))
	fail := func(off int64, format string, a ...any) error {
		e := &Error{File: file, Offset: off, Msg: fmt.Sprintf(format, a...)}
		if s, ok := r.(io.ReadSeeker); ok && off >= 0 {
			e.Line, e.Col = position(s, off)
		}
		return e
	}
	syntax := func(err error, where string) error {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return fail(charAt(r, se.Offset-1, se.Error()), "not valid JSON %s: %s; %s", where, se.Error(), expected)
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return fail(cr.n, "the file ends %s (a truncated recording?); %s", where, expected)
		}
		return fail(-1, "reading %s: %v", where, err)
	}
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) && cr.n == 0 {
		return nil, fail(-1, "empty file; %s", expected)
	}
	if err != nil {
		return nil, syntax(err, "at the start")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fail(dec.InputOffset()-1, "the file starts with %s; %s", describe(tok), expected)
	}
	var entries []*Entry
	seenLog, seenEntries, version, total := false, false, "", 0
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, syntax(err, "in the top-level object")
		}
		if key != "log" {
			if err := skip(dec); err != nil {
				return nil, syntax(err, fmt.Sprintf("in %q", key))
			}
			continue
		}
		seenLog = true
		at := dec.InputOffset()
		if tok, err = dec.Token(); err != nil {
			return nil, syntax(err, "in log")
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return nil, fail(firstNonSpace(r, at), "log is %s, expected an object; %s", describe(tok), expected)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, syntax(err, "in log")
			}
			at := dec.InputOffset()
			switch k {
			case "version":
				var v any
				if err := dec.Decode(&v); err != nil {
					return nil, syntax(err, "in log.version")
				}
				s, _ := v.(string)
				if s != "1.2" && s != "1.1" {
					return nil, fail(firstNonSpace(r, at), "log.version is %s: this is HAR %v, expected version \"1.2\" (or \"1.1\")", jsonText(v), jsonText(v))
				}
				version = s
			case "entries":
				seenEntries = true
				tok, err := dec.Token()
				if err != nil {
					return nil, syntax(err, "in log.entries")
				}
				if d, ok := tok.(json.Delim); !ok || d != '[' {
					return nil, fail(firstNonSpace(r, at), "log.entries is %s, expected an array of entries", describe(tok))
				}
				for i := 1; dec.More(); i++ {
					total++
					at := dec.InputOffset()
					var h harEntry
					if err := dec.Decode(&h); err != nil {
						var te *json.UnmarshalTypeError
						if errors.As(err, &te) {
							return nil, fail(firstNonSpace(r, at)+te.Offset-1, "log.entries[%d]: %s is a %s, expected %s", i-1, te.Field, te.Value, kindOf(te.Type.Kind()))
						}
						return nil, syntax(err, fmt.Sprintf("in log.entries[%d]", i-1))
					}
					e, msg := h.entry()
					if msg != "" {
						return nil, fail(firstNonSpace(r, at), "log.entries[%d]: %s", i-1, msg)
					}
					if keep(e) {
						entries = append(entries, e)
					}
				}
				if _, err := dec.Token(); err != nil {
					return nil, syntax(err, "in log.entries")
				}
				if total == 0 {
					return nil, fail(firstNonSpace(r, at), "log.entries is empty: the recording has no requests (record with the DevTools Network tab open, then \"Save all as HAR\")")
				}
			default:
				if err := skip(dec); err != nil {
					return nil, syntax(err, fmt.Sprintf("in log.%s", k))
				}
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntax(err, "in log")
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntax(err, "in the top-level object")
	}
	switch {
	case !seenLog:
		return nil, fail(-1, `no "log" object; %s`, expected)
	case version == "":
		return nil, fail(-1, `log has no "version"; %s`, expected)
	case !seenEntries:
		return nil, fail(-1, `log has no "entries"; %s`, expected)
	}
	return entries, nil
}

// httpMethods are the methods a HAR request may have.
var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"}

// entry checks a decoded HAR entry and converts it.
func (h *harEntry) entry() (*Entry, string) {
	if h.Request == nil {
		return nil, `no "request"`
	}
	if h.Response == nil {
		return nil, `no "response"`
	}
	if h.Request.Method == "" {
		return nil, `request has no "method"`
	}
	if m := strings.ToUpper(h.Request.Method); !slices.Contains(httpMethods, m) {
		return nil, fmt.Sprintf("request.method is %q, expected an HTTP method (%s)", h.Request.Method, strings.Join(httpMethods, ", "))
	}
	if u, err := url.Parse(h.Request.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Sprintf("request.url is %q, expected an absolute http(s) URL", h.Request.URL)
	}
	t, err := time.Parse(time.RFC3339Nano, h.StartedDateTime)
	if err != nil {
		return nil, fmt.Sprintf("startedDateTime is %q, expected an ISO 8601 time such as \"2026-12-02T10:00:00.000Z\"", h.StartedDateTime)
	}
	e := &Entry{Started: t, Time: h.Time, ResourceType: h.ResourceType}
	e.Request = Request{Method: strings.ToUpper(h.Request.Method), URL: h.Request.URL, Headers: h.Request.Headers}
	if p := h.Request.PostData; p != nil {
		e.Request.MimeType, e.Request.Body, e.Request.Params = p.MimeType, p.Text, p.Params
	}
	c := h.Response.Content
	e.Response = Response{Status: h.Response.Status, Headers: h.Response.Headers, MimeType: c.MimeType}
	if c.Encoding == "" && len(c.Text) <= maxBody {
		e.Response.Body = c.Text // base64 bodies are binary: no values to correlate
	}
	return e, ""
}

// skip consumes one JSON value.
func skip(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}

func describe(tok any) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '[':
			return "an array"
		case '{':
			return "an object"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("the string %q", v)
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%v", v)
	}
}

func kindOf(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	}
	return "a number"
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// countReader counts the bytes read, to place an unexpected end of file.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// firstNonSpace returns the offset of the first non-space byte at or
// after off (the decoder's offset sits before the separator and spaces).
func firstNonSpace(r io.Reader, off int64) int64 {
	s, ok := r.(io.ReadSeeker)
	if !ok {
		return off
	}
	if _, err := s.Seek(off, io.SeekStart); err != nil {
		return off
	}
	br := bufio.NewReader(s)
	for {
		b, err := br.ReadByte()
		if err != nil {
			return off
		}
		if !strings.ContainsRune(" \t\r\n,:", rune(b)) {
			return off
		}
		off++
	}
}

// charAt places a syntax error on the character it names ("invalid
// character ']'"): the decoder's offset can sit a few bytes before it.
func charAt(r io.Reader, off int64, msg string) int64 {
	_, rest, ok := strings.Cut(msg, "invalid character '")
	s, seek := r.(io.ReadSeeker)
	if !ok || !seek || len(rest) < 2 || rest[1] != '\'' {
		return firstNonSpace(r, off)
	}
	if _, err := s.Seek(off, io.SeekStart); err != nil {
		return off
	}
	buf := make([]byte, 256)
	n, _ := io.ReadFull(s, buf)
	if i := strings.IndexByte(string(buf[:n]), rest[0]); i >= 0 {
		return off + int64(i)
	}
	return off
}

// position turns a byte offset into a line and column (from 1) by
// reading the file again up to it: only an error pays for it.
func position(s io.ReadSeeker, off int64) (line, col int) {
	if _, err := s.Seek(0, io.SeekStart); err != nil {
		return 0, 0
	}
	br := bufio.NewReader(s)
	line, col = 1, 1
	for i := int64(0); i < off; i++ {
		b, err := br.ReadByte()
		if err != nil {
			break
		}
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
