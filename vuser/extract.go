package vuser

import (
	"net/http"
	"net/url"
)

// STUB: extraction and checks are being written; signatures are the contract.

// Response is what checks and extractors see of a response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte // at most Script.MaxBody bytes
	URL    *url.URL
	Jar    http.CookieJar
}

// ExtractKind names where an extractor looks.
type ExtractKind string

// The extractor kinds.
const (
	ExtractForm   ExtractKind = "form"   // value of the HTML input named Expr
	ExtractRegex  ExtractKind = "regex"  // first group (or whole match) of Expr
	ExtractJSON   ExtractKind = "json"   // JSON path Expr
	ExtractHeader ExtractKind = "header" // response header Expr
	ExtractCookie ExtractKind = "cookie" // cookie Expr as the jar holds it for the URL
)

// Extractor fills one VU variable from a response.
type Extractor struct {
	Var  string
	Kind ExtractKind
	Expr string
}

// NewExtractor validates and compiles an extractor.
func NewExtractor(name string, kind ExtractKind, expr string) (Extractor, error) {
	return Extractor{Var: name, Kind: kind, Expr: expr}, nil
}

// Extract returns the value found in r and whether it was found.
func (e *Extractor) Extract(r *Response) (string, bool) { return "", false }

// FormValue returns the value of the first HTML input named name in body.
func FormValue(body []byte, name string) (string, bool) { return "", false }

// Eval returns nil when r satisfies c, else an error saying what failed.
func (c *Check) Eval(r *Response) error { return nil }
