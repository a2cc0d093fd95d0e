package profiles

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Hash identifies what the plan tests (stats.Results.PlanHash): a short
// hex hash of its content (the text, secrets removed, and the rows of
// the data files it uses) and its effective load shape (after Override,
// SetWarmup). The target, the seed and the segment are not part of it:
// the same test against another host, with other think times or split
// across processes is the same test.
func (p *Plan) Hash() string {
	h := sha256.New()
	l := p.Load
	l.Open = nil
	fmt.Fprintf(h, "%s\x00%+v\x00warmup %s\x00", p.Source, l, p.Warmup)
	if o := p.Load.Open; o != nil {
		fmt.Fprintf(h, "%+v", *o)
	}
	if dd := p.dataDigest(); dd != "" {
		fmt.Fprintf(h, "\x00data %s", dd) // the rows handed out are part of the test (data.go)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// RunID names one run of the test with plan hash hash that started its
// schedule at startAt (stats.Results.RunID): the segments of a split test,
// given one --start-at, share it; any other run has another.
func RunID(hash string, startAt time.Time) string {
	h := sha256.Sum256([]byte(hash + "@" + startAt.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(h[:])[:16]
}
