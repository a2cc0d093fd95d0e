package profiles

import (
	"embed"
	"fmt"
	"strings"
)

// starters are the commented plans `load init` writes, one per login kind.
//
//go:embed starters/*.yaml
var starters embed.FS

// starterKinds lists the starters in the order help texts show them.
var starterKinds = []string{"spring-form", "tomcat-form", "json-token"}

// Starter returns the commented starter plan for a login kind (one of
// StarterKinds), ready to edit; Parse accepts it as it is.
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
