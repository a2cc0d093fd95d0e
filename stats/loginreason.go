package stats

import (
	"html"
	"regexp"
	"strings"
	"unicode/utf8"
)

// maxReasons bounds the distinct login-failure reasons a run keeps; the
// rest are counted under otherReasons.
const maxReasons = 32

// otherReasons counts the failures past maxReasons distinct reasons.
const otherReasons = "other reasons"

// maxReasonLen bounds a reason's page text, in characters.
const maxReasonLen = 100

var (
	// pageNoise is what a page shows no reader: scripts, styles, comments.
	// The title names the page, not what went wrong.
	pageNoise = regexp.MustCompile(`(?is)<script\b.*?</script>|<style\b.*?</style>|<title\b.*?</title>|<!--.*?-->`)
	tag       = regexp.MustCompile(`(?s)<[^>]*>`)
	// pageError is what an error message on a login page says.
	pageError = regexp.MustCompile(`(?i)\b(invalid|incorrect|wrong|bad credentials|failed|failure|denied|locked|disabled|expired|not found|unknown user|unauthori[sz]ed|forbidden|error)\b`)
	// sessionInURL is a session id carried in a URL (;jsessionid=...).
	sessionInURL = regexp.MustCompile(`(?i)(;jsessionid=)([^?#/\s;]+)`)
)

// LoginFailureReason is the short reason of a failed login, for the
// summary: the VU's own words (err, e.g. "login: j_security_check answered
// 200" or "login: redirected to /login?error"), then the first error text
// of the page it got back, if any ("Invalid user name and/or password").
// The user's name reads {{.User}} and the password a short hash, as do
// session ids in URLs, so that reasons neither leak secrets nor split one
// cause into a reason per user.
func LoginFailureReason(err string, page []byte, user, password string) string {
	reason := err
	if text := pageErrorText(page); text != "" {
		reason += `; the page says "` + text + `"`
	}
	reason = sessionInURL.ReplaceAllStringFunc(reason, func(m string) string {
		p := sessionInURL.FindStringSubmatch(m)
		return p[1] + "<hash " + HashSecret(p[2]) + ">"
	})
	// A shorter one would replace parts of words.
	if len(password) >= 3 {
		reason = strings.ReplaceAll(reason, password, "<hash "+HashSecret(password)+">")
	}
	if len(user) >= 3 {
		reason = strings.ReplaceAll(reason, user, "{{.User}}")
	}
	return reason
}

// pageErrorText is the first piece of a page's visible text (an
// element's text, or a line) that reads like an error message, cut to maxReasonLen characters.
func pageErrorText(page []byte) string {
	if len(page) == 0 || !utf8.Valid(page) {
		return ""
	}
	// An element's text is one piece, over lines as HTML wraps it; a page
	// without tags (text, JSON) is read line by line.
	text := pageNoise.ReplaceAllString(string(page), " ")
	sep := func(r rune) bool { return r == '\n' || r == '\r' }
	if tag.MatchString(text) {
		text = tag.ReplaceAllString(text, "\x00")
		sep = func(r rune) bool { return r == 0 }
	}
	for _, line := range strings.FieldsFunc(text, sep) {
		line = strings.Join(strings.Fields(html.UnescapeString(line)), " ")
		if !pageError.MatchString(line) {
			continue
		}
		if r := []rune(line); len(r) > maxReasonLen {
			line = string(r[:maxReasonLen]) + "…"
		}
		return line
	}
	return ""
}
