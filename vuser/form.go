package vuser

import (
	"bytes"

	"golang.org/x/net/html"
)

// FormValue returns the value of the first HTML input named name in body,
// as a browser would submit it: attributes in any order and quoting,
// entities decoded, tag and attribute names in any case. An input with no
// value attribute has the value "". With no such input, the content of a
// <meta name="NAME" content="..."> is used, the way Spring Security
// publishes its CSRF token to scripts (<meta name="_csrf" content="...">).
//
// It runs an HTML tokenizer rather than a regular expression, so that
// comments, scripts and odd markup do not fool it; the name is matched
// exactly (form field names are case-sensitive).
func FormValue(body []byte, name string) (string, bool) {
	z := html.NewTokenizer(bytes.NewReader(body))
	var meta string
	var metaFound bool
	for {
		switch z.Next() {
		case html.ErrorToken: // io.EOF, or the body is cut short
			return meta, metaFound
		case html.StartTagToken, html.SelfClosingTagToken:
			tag, hasAttr := z.TagName()
			if !hasAttr {
				continue
			}
			switch {
			case string(tag) == "input":
				if v, ok := tagValue(z, name, "value"); ok {
					return v, true
				}
			case string(tag) == "meta" && !metaFound:
				meta, metaFound = tagValue(z, name, "content")
			}
		}
	}
}

// tagValue reads the attributes of the current tag: when its name
// attribute is name, it returns the value attribute valueKey ("" when
// absent) and true. As in HTML, the first of repeated attributes wins.
func tagValue(z *html.Tokenizer, name, valueKey string) (string, bool) {
	var val []byte // valid until z.Next
	var nameSeen, named, valSeen bool
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		switch {
		case string(k) == "name" && !nameSeen:
			nameSeen = true
			named = string(v) == name
		case string(k) == valueKey && !valSeen:
			valSeen = true
			val = v
		}
	}
	if !named {
		return "", false
	}
	return string(val), true
}
