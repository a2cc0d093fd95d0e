package stats

import (
	"fmt"
	"strings"
)

// Untested says why a run did not test the target, or "" if it did: it
// was interrupted, no request got an HTTP response (the app is down, not
// slow), or no VU ever logged in. A pipeline must not read such a run as a
// pass, nor its thresholds as the app's verdict (load exits 1).
func (r *Results) Untested() string {
	responses := int64(0)
	for _, n := range r.Totals.Status {
		responses += n
	}
	switch {
	case r.Interrupted:
		return "interrupted: the results cover the part that ran"
	case r.Partial:
		return "partial: rebuilt from the interval stream of a run that did not finish"
	case responses == 0:
		what := "no request was sent"
		if r.Totals.Requests > 0 {
			what = fmt.Sprintf("%d requests", r.Totals.Requests)
			if errs := errorList(r.ErrorsByKind); errs != "" {
				what += ": " + errs
			}
		}
		return "no request got an HTTP response (" + what + ")"
	case r.Sessions.Established == 0 && r.Sessions.LoginFailures+r.Sessions.Rejected > 0:
		var why []string
		if n := r.Sessions.LoginFailures; n > 0 {
			why = append(why, fmt.Sprintf("%d login failures", n))
		}
		if n := r.Sessions.Rejected; n > 0 {
			why = append(why, fmt.Sprintf("%d refused by the server", n))
		}
		return "no VU logged in (" + strings.Join(why, ", ") + ")"
	}
	return ""
}
