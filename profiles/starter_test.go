package profiles_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionload/load/profiles"
	"github.com/sessionload/load/vuser"
)

func TestStartersParse(t *testing.T) {
	t.Parallel()
	kinds := profiles.StarterKinds()
	if len(kinds) != 4 {
		t.Fatalf("StarterKinds() = %v, want the three logins and mix", kinds)
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
			p, err := profiles.Parse(kind+".yaml", b, starterDir(t, kind))
			if err != nil {
				t.Fatalf("Parse(starter %s):\n%v", kind, err)
			}
			if kind == "mix" {
				return // TestStarterMix
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

// starterDir is a directory holding the files starter kind names, as
// load init writes them beside the plan.
func starterDir(t *testing.T, kind string) string {
	t.Helper()
	b, err := profiles.Starter(kind)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := profiles.StarterFiles(kind)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if !strings.Contains(string(b), name) {
			t.Errorf("starter %s does not name its file %s", kind, name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestStarterUnknown(t *testing.T) {
	t.Parallel()
	_, err := profiles.Starter("spring")
	want := `unknown starter "spring" (expected one of: spring-form, tomcat-form, json-token, mix)`
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

// The mix starter is what its comments promise: three weighted
// scenarios, browsers on spring-form and API clients on json-token, a
// loop, a random branch, a foreach and a group.
func TestStarterMix(t *testing.T) {
	t.Parallel()
	b, err := profiles.Starter("mix")
	if err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Parse("mix.yaml", b, starterDir(t, "mix"))
	if err != nil {
		t.Fatalf("Parse(starter mix):\n%v", err)
	}
	if len(p.Scenarios) != 3 {
		t.Fatalf("%d scenarios, want 3", len(p.Scenarios))
	}
	var names []string
	var weights []float64
	var logins []vuser.LoginKind
	flow := map[string]int{}
	for _, sc := range p.Scenarios {
		names = append(names, sc.Name)
		weights = append(weights, sc.Weight)
		logins = append(logins, sc.Script.Login.Kind)
		if sc.Load != nil {
			t.Errorf("scenario %s has its own load", sc.Name)
		}
		countFlow(sc.Script.Steps, flow)
	}
	same(t, "names", names, []string{"browse", "cart", "api"})
	same(t, "weights", weights, []float64{7, 2, 1})
	same(t, "logins", logins, []vuser.LoginKind{vuser.LoginSpringForm, vuser.LoginSpringForm, vuser.LoginJSONToken})
	same(t, "flow steps", flow, map[string]int{"repeat": 1, "random": 1, "foreach": 1, "group": 1})
	if p.Load.MaxVUs() != 10 {
		t.Errorf("load peaks at %d VUs, want 10", p.Load.MaxVUs())
	}
}

func countFlow(steps []vuser.Step, n map[string]int) {
	for _, s := range steps {
		switch {
		case s.Repeat != nil:
			n["repeat"]++
			countFlow(s.Repeat.Steps, n)
		case s.Random != nil:
			n["random"]++
			for _, b := range s.Random {
				countFlow(b.Steps, n)
			}
		case s.If != nil:
			n["if"]++
			countFlow(s.If.Steps, n)
			countFlow(s.If.Else, n)
		case s.Foreach != nil:
			n["foreach"]++
			countFlow(s.Foreach.Steps, n)
		case s.Group != nil:
			n["group"]++
			countFlow(s.Group.Steps, n)
		}
	}
}
