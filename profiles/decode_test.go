package profiles_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionload/load/profiles"
)

var update = flag.Bool("update", false, "rewrite the .err golden files of testdata/bad")

// badPlans are the malformed plans of testdata/bad; each NAME.yaml has
// its exact expected error text in NAME.err beside it.
var badPlans = []struct {
	name string
	why  string
}{
	{"unknown_key", "a misspelt key, with the closest key suggested"},
	{"threshold_abort", "threshold mappings: a misspelt abort_on_fail, a missing condition"},
	{"server", "a server block with an unknown kind, credentials in the URL, an unset env var, a YAML 1.1 bool"},
	{"open_no_vus", "an arrival rate with no VUs to run it, a bad on_overload, a closed-model key"},
	{"open_rate_and_sessions", "iterations and session arrivals at once"},
	{"open_sessions", "session arrivals without a lifetime, a rate-only key, a bad rate unit"},
	{"vus_not_int", "a word where an integer goes"},
	{"missing_scenario", "a required key left out"},
	{"bad_duration", "durations without a unit or not a duration"},
	{"bad_template", "unknown placeholders, at their column inside the scalar"},
	{"bad_extractor", "a header extractor that can never match, two kinds, none, a misspelt kind"},
	{"bad_regex", "a regex that does not compile"},
	{"duplicate_names", "two steps with one name"},
	{"csv_and_template", "users from both a csv and a template"},
	{"missing_csv", "a users csv that does not exist"},
	{"malformed_csv", "a users csv with a bad header and bad rows, each at its own file:line"},
	{"csv_too_short", "fewer csv rows than the stages' peak VUs"},
	{"two_methods", "a step with two methods, and one with none"},
	{"bad_url", "a target without a scheme"},
	{"bad_engine", "a misspelt http engine"},
	{"other_host", "step paths to another host"},
	{"syntax_error", "a YAML syntax error, at the yaml library's line"},
	{"login_steps_missing", "login: steps without login_steps"},
	{"status_range", "status codes out of range or not numbers"},
	{"think_min_max", "think min above max"},
	{"three_problems", "three problems in one file, all reported"},
	{"undefined_var", "variables used but never extracted"},
	{"stages_and_vus", "stages with vus, a zero stage duration, a stage without duration"},
	{"login_needs_users", "a login without users, a key of another login, a bad end"},
	{"body_exclusive", "form and body in one step"},
	{"types", "a wrong type in each section"},
	{"empty", "an empty plan: every required key missing"},
	{"scenario_empty", "a scenario without steps"},
	{"duplicate_key", "a key given twice"},
	{"json_nan", "numbers JSON cannot carry"},
	{"login_field_misplaced", "a field of another login, a var in the users template"},
	{"check_template", "placeholders in check values, which are compared as written"},
	{"bad_outputs", "an empty output path, a misspelt output, a metrics address without a port number"},
	{"bad_thresholds", "threshold metrics and conditions that do not parse, at their column; an unknown endpoint"},
	{"password_sources", "password_env unset, password_file missing, both with a password"},
	{"bad_warmup", "a warm-up as long as the load leaves nothing to measure"},
}

func TestBadPlans(t *testing.T) {
	t.Parallel()
	for _, tc := range badPlans {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join("testdata", "bad", tc.name+".yaml")
			p, err := profiles.LoadFile(file)
			if err == nil {
				t.Fatalf("LoadFile accepted %s (%s): %+v", file, tc.why, p)
			}
			var ps profiles.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("LoadFile(%s) error is %T, want Problems: %v", file, err, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s (%s):\ngot:\n%s\nwant:\n%s", file, tc.why, got, want)
			}
			for _, pr := range ps {
				if pr.File == file && (pr.Line < 1 || pr.Col < 1) {
					t.Errorf("problem without a position: %+v", pr)
				}
			}
		})
	}
}

// TestBadPlansListed keeps the table and testdata/bad in step.
func TestBadPlansListed(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, tc := range badPlans {
		listed[tc.name] = true
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".yaml"); !listed[name] {
			t.Errorf("%s is not in badPlans", f)
		}
	}
	if len(files) < 18 {
		t.Errorf("%d bad plans, want at least 18", len(files))
	}
}

// FuzzParse feeds Parse arbitrary bytes: it must never panic, and it must
// either return a plan or problems.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, kind := range profiles.StarterKinds() {
		b, _ := profiles.Starter(kind)
		f.Add(b)
	}
	// Aliases that would expand exponentially.
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nscenario: [{name: n, get: /, json: [*c, *c]}]\n"))
	dir := filepath.Join("testdata", "good") // CSVs the fuzzer may name
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := profiles.Parse("fuzz.yaml", data, dir)
		if (p == nil) == (err == nil) {
			t.Fatalf("Parse returned plan %v and error %v", p, err)
		}
		if err != nil {
			var ps profiles.Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("Parse error is not Problems: %v", err)
			}
		}
	})
}
