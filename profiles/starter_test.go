package profiles_test

import (
	"strings"
	"testing"

	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/vuser"
)

func TestStartersParse(t *testing.T) {
	t.Parallel()
	kinds := profiles.StarterKinds()
	if len(kinds) != 3 {
		t.Fatalf("StarterKinds() = %v, want the three logins", kinds)
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b, err := profiles.Starter(kind)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(b), "#") {
				t.Errorf("starter %s does not start with a comment", kind)
			}
			p, err := profiles.Parse(kind+".yaml", b, t.TempDir())
			if err != nil {
				t.Fatalf("Parse(starter %s):\n%v", kind, err)
			}
			if got := p.Scenarios[0].Script.Login.Kind; got != vuser.LoginKind(kind) {
				t.Errorf("starter %s logs in with %s", kind, got)
			}
			if p.Load.MaxVUs() == 0 || p.Load.Total() == 0 || len(p.Scenarios[0].Script.Steps) == 0 {
				t.Errorf("starter %s has no load or no steps: %+v", kind, p.Load)
			}
		})
	}
}

func TestStarterUnknown(t *testing.T) {
	t.Parallel()
	_, err := profiles.Starter("spring")
	want := `unknown starter "spring" (expected one of: spring-form, tomcat-form, json-token)`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Starter(spring) = %v, want %s", err, want)
	}
}

func TestStarterKindsIsACopy(t *testing.T) {
	t.Parallel()
	profiles.StarterKinds()[0] = "changed"
	if profiles.StarterKinds()[0] != "spring-form" {
		t.Error("StarterKinds shares its slice")
	}
}

func TestDemoPlanParses(t *testing.T) {
	t.Parallel()
	if _, err := profiles.Parse("demo.yaml", profiles.DemoPlan(), "."); err != nil {
		t.Fatalf("the demo plan does not parse:\n%v", err)
	}
}
