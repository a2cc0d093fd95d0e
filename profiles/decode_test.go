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
	{"unknown_synonyms", "other tools' words and typos at every level, each with its key suggested"},
	{"threshold_abort", "threshold mappings: a misspelt abort_on_fail, a missing condition"},
	{"server", "a server block with an unknown kind, credentials in the URL, an unset env var, a YAML 1.1 bool"},
	{"open_no_vus", "an arrival rate with no VUs to run it, a bad on_overload, a closed-model key"},
	{"open_rate_and_sessions", "iterations and session arrivals at once"},
	{"open_sessions", "session arrivals without a lifetime, a rate-only key, a bad rate unit"},
	{"vus_not_int", "a word where an integer goes"},
	{"pacing_think", "paced scenarios whose think times alone exceed their pacing: the plan's, their own, their own load's; exponential by its mean"},
	{"pacing_think_single", "a one-scenario plan whose thinks (min, a step's own) exceed load.pacing"},
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
	// Test data (data.go) and the extended users (users.go).
	{"data_missing_file", "a data file that does not exist, a source without csv, an empty file name"},
	{"data_bad_csv", "data files with ragged rows, duplicate and empty column names, only a header, nothing"},
	{"data_pick", "an unknown pick with did-you-mean, another tool's word, a misspelt key, a name templates cannot use, wrong types"},
	{"data_undeclared", "templates naming an undeclared source and missing columns, at their column; data in a login step"},
	{"data_undeclared_none", "a template naming a data source in a plan that declares none"},
	{"data_not_mapping", "a data section that is a list, reported once"},
	{"data_functions", "template functions with wrong argument counts and types, misspelt, unknown"},
	{"users_row_columns", "{{.Row.X}} with X not a column of the users CSV"},
	{"users_row_no_csv", "{{.Row.X}} with users from a template"},
	{"users_pick", "a users pick other than sequence or circular"},
	{"users_pick_template", "users.pick with a users template"},
	{"users_extra_columns", "a users CSV with a duplicate and an empty extra column"},
	{"users_too_few", "more VUs than users with pick: sequence"},
	{"two_methods", "a step with two methods, and one with none"},
	{"bad_url", "a target without a scheme"},
	{"bad_engine", "a misspelt http engine"},
	{"other_host", "step paths to another host"},
	{"syntax_error", "a key indented between two levels, at the key (the library says the list's line)"},
	{"syntax_indent_item", "the issue's plan: get: indented too little under a step, at line 12 (the library says 10)"},
	{"syntax_indent_less", "a step's key one space short of its siblings"},
	{"syntax_indent_deeper", "a step's key indented deeper than its sibling with a value"},
	{"syntax_indent_key", "a load key between two indentations"},
	{"syntax_tab", "a tab indenting a step's key"},
	{"syntax_colon_space", "get:/ without a space after the colon"},
	{"syntax_colon_space_top", "target:http://... without a space after the colon"},
	{"syntax_missing_colon", "get / without its colon"},
	{"syntax_unclosed_quote", "a double quote never closed"},
	{"syntax_unclosed_single", "a single quote never closed inside a { } form"},
	{"syntax_unclosed_bracket", "a [ never closed before the next key"},
	{"syntax_wrong_bracket", "a { closed by ]"},
	{"syntax_flow_comma", "a missing comma between { } entries"},
	{"syntax_colon_in_value", "a value holding ': ', unquoted"},
	{"syntax_dash_space", "-name: without the space after the dash"},
	{"syntax_reserved", "a value starting with @"},
	{"syntax_after_quote", "text after a quoted value"},
	{"syntax_item_dash", "a second step without its dash"},
	{"syntax_value_and_list", "a list under a key that already has a value"},
	{"syntax_alias", "an alias to an anchor never defined (the library gives no line)"},
	{"syntax_template", "a {{ }} template unquoted at the start of a value, read as a mapping"},
	{"syntax_crlf", "a misindented key in a file with CRLF line ends"},
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
	{"check_template", "placeholders in checks: a bad one in json, an unextracted var in body_contains (rendered), any in body_not_contains and header contains (compared as written)"},
	{"bad_outputs", "an empty output path, a misspelt output, a metrics address without a port number"},
	{"bad_thresholds", "threshold metrics and conditions that do not parse, at their column; an unknown endpoint"},
	{"password_sources", "password_env unset, password_file missing, both with a password"},
	{"bad_warmup", "a warm-up as long as the load leaves nothing to measure"},
	{"scenarios_weight", "weights that are not positive numbers: a percentage, 0, negative, quoted, a boolean, NaN; too small or large for the exact split"},
	{"scenarios_weight_and_load", "a scenario with both a weight and a load of its own"},
	{"scenarios_names", "scenario names given twice, empty, with spaces, missing; a step name twice in one scenario (across a group)"},
	{"scenario_and_scenarios", "the one-scenario shorthand beside the list"},
	{"scenarios_missing_load", "weighted scenarios without the plan's load"},
	{"scenarios_unused_load", "a plan load no scenario runs on (every scenario has its own)"},
	{"scenarios_empty", "an empty scenarios list"},
	{"scenarios_items", "a scenario without steps, misspelt keys, not a mapping, empty steps"},
	{"scenarios_session", "a scenario's own session: a misspelt login, a missing login_path, a key of another login"},
	{"scenarios_login_needs_users", "logins without users, inherited from the plan and a scenario's own"},
	{"scenarios_users_rows", "a users CSV too short for the scenarios that share it, and for one scenario's share and own load"},
	{"scenarios_pacing", "a scenario's pacing on an open plan load, beside its own load, zero"},
	{"scenarios_thresholds", "a threshold on a step no scenario has, among steps, groups and logins of several scenarios"},
	{"scenarios_typo", "scenarios misspelt: suggested, and scenario not asked for"},
	{"scenarios_own_load_bad", "a scenario's own load with mistakes, at their scenario path"},
	{"flow_unknown_keys", "misspelt flow keys at every level, each with its key suggested (and other tools' words: loop, transaction)"},
	{"flow_if_no_condition", "an if without a condition, without what it tests, without either"},
	{"flow_if_two_conditions", "an if with two conditions, and with var and status"},
	{"flow_if_values", "exists: false, status: false, exists on the status, a bad matches regex, a bad var name, an empty else, a var never extracted"},
	{"flow_repeat_times_and_for", "a repeat with both times and for"},
	{"flow_repeat_no_steps", "a repeat without steps, with an empty list, without times or for"},
	{"flow_repeat_values", "repeat counts that are not positive integers, a bad template, an unextracted var, durations without a unit or zero"},
	{"flow_random_weights", "random branches of weight zero, negative, quoted, without steps; one branch only; not a list"},
	{"flow_foreach", "a foreach without as, without var, as equal to var, a zero limit, its item used after it, a list never extracted"},
	{"flow_request_beside", "request keys beside a flow key, two flow keys in one step, steps beside if"},
	{"flow_group", "a group without steps, with a name key, empty, with a /; steps on a request step"},
	{"flow_think", "per-step think without a unit, min above max, mean with min, not a duration, a group's without max, negative"},
	{"extract_options", "bad index, index on json, pick: sometimes, pick typo, pick and all on a header, all with pick, a YAML 1.1 bool, a quoted bool"},
	{"check_body_matches", "body_matches regexes that do not compile, an empty list, an empty body_not_contains, a bad template in body_contains"},
	{"check_headers", "header checks: a misspelt op, exists: false, two ops, a bad name, a bad regex, none, a list"},
	{"scenario_weights_no_split", "weights whose exact split repeats only after more than 2^20 VUs"},
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

// TestSyntaxMistakeFound appends a mistake to every good plan, starter and
// example: the checker must not stop at the valid YAML before it (block
// scalars, flow lists over lines, quotes, anchors), but at the mistake.
func TestSyntaxMistakeFound(t *testing.T) {
	t.Parallel()
	plans := map[string][]byte{}
	for _, glob := range []string{filepath.Join("testdata", "good", "*.yaml"), filepath.Join("examples", "*.yaml")} {
		files, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			plans[f] = b
		}
	}
	for _, kind := range profiles.StarterKinds() {
		b, _ := profiles.Starter(kind)
		plans["starter "+kind] = b
	}
	mistakes := []struct {
		text string
		line int // of the mistake, counting from the first appended line
	}{
		{"name:\tx: y\n", 0},                  // a second ': '
		{"\tname: x\n", 0},                    // a tab
		{"x-a:\n    b: 1\n  c: 2\n", 2},       // between two indentations
		{"x-a: {b: 1 c: 2}\n", 0},             // a missing comma
		{"x-a: \"b\nx-c: d\n", 0},             // a quote never closed
		{"x-a:\n  - b: 1\n  c: 2\n", 2},       // a key among list items
		{"x-a: 1\n  - b: c\n", 1},             // a list under a value
		{"x-a: [b, {c: d]\n", 0},              // a wrong bracket
		{"x-a:\n  - name: b\n   get: /\n", 2}, // one space short
		{"x-a:\n  -name: b\n    get: /\n", 1}, // a dash without its space
		{"x-a: b\nx-c:d\n", 1},                // a colon without its space
	}
	for name, b := range plans {
		text := strings.TrimRight(string(b), "\n") + "\n"
		first := strings.Count(text, "\n") + 1
		for _, m := range mistakes {
			dir := filepath.Join("testdata", "good")
			if strings.HasPrefix(name, "examples") {
				dir = "examples"
			}
			_, err := profiles.Parse("p.yaml", []byte(text+m.text), dir)
			var ps profiles.Problems
			if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Line != first+m.line {
				t.Errorf("%s with %q appended, a mistake on line %d: %v", name, m.text, first+m.line, err)
			}
		}
	}
}
