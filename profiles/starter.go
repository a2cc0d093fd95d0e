package profiles

import (
	"embed"
	"fmt"
	"strings"
)

// starters are the commented plans `load init` writes: one per login
// kind, and mix, a population of three kinds of users.
//
//go:embed starters/*.yaml starters/mix
var starters embed.FS

// starterKinds lists the starters in the order help texts show them.
var starterKinds = []string{"spring-form", "tomcat-form", "json-token", "mix"}

// Starter returns the commented starter plan of a kind (one of
// StarterKinds: a login kind, or mix), ready to edit; Parse accepts it
// as it is, with the files of StarterFiles beside it.
func Starter(kind string) ([]byte, error) {
	for _, k := range starterKinds {
		if k == kind {
			return starters.ReadFile("starters/" + k + ".yaml")
		}
	}
	return nil, fmt.Errorf("unknown starter %q (expected one of: %s)%s",
		kind, strings.Join(starterKinds, ", "), didYouMean(kind, starterKinds))
}

// StarterKinds lists the kinds Starter knows.
func StarterKinds() []string {
	return append([]string(nil), starterKinds...)
}

// StarterFiles returns the files starter kind names (its test data, by
// file name), for `load init` to write beside the plan; none for most
// kinds.
func StarterFiles(kind string) (map[string][]byte, error) {
	plan, err := Starter(kind)
	if err != nil {
		return nil, err
	}
	entries, err := starters.ReadDir("starters/" + kind)
	if err != nil {
		return nil, nil // no files of its own
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if !strings.Contains(string(plan), e.Name()) {
			continue // not named by the plan (yet)
		}
		b, err := starters.ReadFile("starters/" + kind + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}
